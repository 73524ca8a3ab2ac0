//! What the fixture tests share.

/// Defines `Log`, an `ActionHandler` for a fixture module `$m` whose spec
/// has the local action `Note` and the packet action `Echo` (segment type
/// `()`): it records the names of the actions run, in order.
#[macro_export]
macro_rules! note_echo_log {
    ($m:ident) => {
        #[derive(Default)]
        struct Log(Vec<&'static str>);

        impl $m::ActionHandler for Log {
            type Segment = ();
            fn process_action(&mut self, action: $m::LocalAction) {
                match action {
                    $m::LocalAction::Note => self.0.push("Note"),
                }
            }
            fn process_packet_action(&mut self, action: $m::PacketAction, _: &()) {
                match action {
                    $m::PacketAction::Echo => self.0.push("Echo"),
                }
            }
        }
    };
}
