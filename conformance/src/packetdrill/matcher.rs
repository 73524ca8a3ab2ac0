//! Matching an outbound segment against the script's expectation.
//!
//! The fields are compared in packetdrill's order (flags, sequence number,
//! payload length, acknowledgment, window, urgent pointer, options); the
//! first difference is reported as expected-vs-actual. Timing is checked by
//! the executor after the content matched, as packetdrill does.
//!
//! What [`CompareMode::Lenient`] leaves out is FreeBSD's own choice, not
//! TCP behaviour: the window field, the option layout (order, NOP and EOL
//! padding), the window-scale shift and the TSval. It still requires the
//! same set of options (MSS, window scale, SACK-permitted, timestamps,
//! SACK), equal MSS values, equal SACK blocks (in order: RFC 2018 §4 makes
//! the first block the most recent) and equal TSecr values. Two exceptions:
//! on a socket with FreeBSD's `TCP_NOOPT`, FreeBSD omits even the MSS
//! option, which RFC 9293 §3.7.1 lets a TCP always send (MAY-3), so an extra
//! MSS option is accepted there; and a duplicate-SACK block (RFC 2883, an
//! optional extension FreeBSD implements and tcp-core does not) is set aside
//! on both sides before the SACK blocks are compared.
//!
//! One segment form is FreeBSD's choice too: when it acknowledges while its
//! own FIN is still unacknowledged, FreeBSD retransmits that FIN and lets it
//! carry the ACK (`F. 1:1(0) ack 2`), where RFC 9293 §3.10.7.4 forms the ACK
//! as `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` (`. 2:2(0) ack 2`). Both
//! acknowledge the same thing and a TCP may retransmit its FIN at any time, so
//! lenient mode accepts the RFC form for such an expectation: an expected FIN
//! at the sequence number of the FIN we already sent, matched by a pure ACK
//! one past it with the same acknowledgment number.

use std::fmt;

use super::ast::{PacketSpec, SeqSpec, TcpOptionSpec, TcpOptionsSpec};
use super::packet::{self, bits_to_flags, kind, OptionValues, Outbound, RawOption, SeqMap};
use super::profile::CompareMode;

/// The first difference between an expected and an actual segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Which field differs (`flags`, `seq`, `ack`, `options`, ...).
    pub field: String,
    /// The expected value.
    pub expected: String,
    /// The value seen.
    pub actual: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {} but got {}",
            self.field, self.expected, self.actual
        )
    }
}

fn mismatch(field: &str, expected: impl fmt::Display, actual: impl fmt::Display) -> Mismatch {
    Mismatch {
        field: field.to_string(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}

/// Extra leniency that depends on the socket, not the segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchContext {
    /// The socket has FreeBSD's `TCP_NOOPT` set.
    pub noopt: bool,
}

/// Learns what an outbound expectation tells about the mapping: our ISN
/// from the first SYN or SYN,ACK, and the live value of every TSval the
/// script writes. Done before comparing, as packetdrill does.
pub fn learn(spec: &PacketSpec, actual: &Outbound, map: &mut SeqMap) {
    let seg = actual.segment();
    if spec.flags.syn && seg.header.flags.contains(tcp_core::wire::Flags::SYN) {
        // A wildcard `...` SYN stands for relative sequence number 0.
        match spec.seq {
            SeqSpec::Relative { start, .. } => map.learn_local_isn(start, seg.header.seq.0),
            SeqSpec::Any { .. } => map.learn_local_isn(0, seg.header.seq.0),
            SeqSpec::Absolute { .. } => {}
        }
    }
    if seg.header.flags.contains(tcp_core::wire::Flags::FIN) {
        let len = u32::try_from(seg.payload.len()).unwrap_or(0);
        map.record_fin(
            seg.header
                .seq
                .0
                .wrapping_add(len)
                .wrapping_sub(map.local_offset()),
        );
    }
    if let (TcpOptionsSpec::List(list), Some(ts)) = (&spec.options, seg.header.options.timestamps) {
        for o in list {
            if let TcpOptionSpec::Timestamp { val: Some(v), .. } = o {
                map.record_ts_val(*v, ts.tsval);
            }
        }
    }
}

/// Compares `actual` with `spec` under `mode`.
pub fn compare(
    spec: &PacketSpec,
    actual: &Outbound,
    map: &SeqMap,
    mode: CompareMode,
    ctx: MatchContext,
) -> Result<(), Mismatch> {
    if mode == CompareMode::Lenient {
        if let Some(ack_form) = fin_retransmission_as_ack(spec, actual, map) {
            return compare_exact(&ack_form, actual, map, mode, ctx);
        }
    }
    compare_exact(spec, actual, map, mode, ctx)
}

/// For an expected retransmission of our FIN carrying an ACK, the RFC 9293
/// form of that ACK, when the stack sent exactly that form (see the module
/// documentation).
fn fin_retransmission_as_ack(
    spec: &PacketSpec,
    actual: &Outbound,
    map: &SeqMap,
) -> Option<PacketSpec> {
    let SeqSpec::Relative { start, len: 0, .. } = spec.seq else {
        return None;
    };
    let seg = actual.segment();
    let sent = bits_to_flags(seg.header.flags.0);
    let mut without_fin = spec.flags;
    without_fin.fin = false;
    let next = start.wrapping_add(1);
    let is_case = spec.flags.fin
        && spec.flags.ack
        && map.our_fin() == Some(start)
        && sent == without_fin
        && seg.payload.is_empty()
        && seg.header.seq.0.wrapping_sub(map.local_offset()) == next;
    is_case.then(|| PacketSpec {
        flags: without_fin,
        seq: SeqSpec::Relative {
            start: next,
            end: next,
            len: 0,
        },
        ..spec.clone()
    })
}

fn compare_exact(
    spec: &PacketSpec,
    actual: &Outbound,
    map: &SeqMap,
    mode: CompareMode,
    ctx: MatchContext,
) -> Result<(), Mismatch> {
    let seg = actual.segment();
    let h = &seg.header;
    let flags = bits_to_flags(h.flags.0);
    if flags != spec.flags {
        return Err(mismatch("flags", spec.flags, flags));
    }
    let local_seq = h.seq.0.wrapping_sub(map.local_offset());
    match spec.seq {
        SeqSpec::Relative { start, .. } if start != local_seq => {
            return Err(mismatch("seq", start, local_seq));
        }
        SeqSpec::Absolute { start, .. } if start != h.seq.0 => {
            return Err(mismatch("seq (absolute)", start, h.seq.0));
        }
        _ => {}
    }
    let len = seg.payload.len();
    if usize::from(spec.seq.len()) != len {
        return Err(mismatch("payload length", spec.seq.len(), len));
    }
    // The ACK field means something only with the ACK bit (RFC 9293 §3.1);
    // without it, it is compared only when the script writes one.
    if spec.flags.ack || spec.ack.is_some() {
        let expected = spec.ack.unwrap_or(0);
        if expected != h.ack.0 {
            return Err(mismatch("ack", expected, h.ack.0));
        }
    }
    if mode == CompareMode::Strict {
        if let Some(w) = spec.win {
            if w != h.window {
                return Err(mismatch("win", w, h.window));
            }
        }
    }
    let urg = spec.urg.unwrap_or(0);
    if urg != h.urgent {
        return Err(mismatch("urg", urg, h.urgent));
    }
    match &spec.options {
        TcpOptionsSpec::Any => Ok(()),
        TcpOptionsSpec::Absent => compare_options(&[], actual, map, mode, ctx),
        TcpOptionsSpec::List(list) => compare_options(list, actual, map, mode, ctx),
    }
}

fn render_list(list: &[TcpOptionSpec]) -> String {
    if list.is_empty() {
        "no options".to_string()
    } else {
        TcpOptionsSpec::List(list.to_vec()).to_string()
    }
}

fn render_actual(actual: &Outbound, map: &SeqMap) -> String {
    match actual.to_spec(map).options {
        TcpOptionsSpec::List(l) => render_list(&l),
        _ => "no options".to_string(),
    }
}

/// The options of one kind, as the script lists them.
fn script_kinds(list: &[TcpOptionSpec]) -> Vec<&TcpOptionSpec> {
    list.iter()
        .filter(|o| !matches!(o, TcpOptionSpec::Nop | TcpOptionSpec::Eol))
        .collect()
}

/// Removes a leading D-SACK block (RFC 2883 §4): a first block that lies
/// below the cumulative acknowledgment, or inside the second block.
pub fn strip_dsack(blocks: &[(u32, u32)], ack: u32) -> &[(u32, u32)] {
    let below_ack = |(l, _): (u32, u32)| (ack.wrapping_sub(l) as i32) > 0;
    let inside = |(l, r): (u32, u32), (l2, r2): (u32, u32)| {
        (l.wrapping_sub(l2) as i32) >= 0 && (r2.wrapping_sub(r) as i32) >= 0
    };
    match blocks {
        [first, rest @ ..] if below_ack(*first) => rest,
        [first, second, ..] if inside(*first, *second) => &blocks[1..],
        _ => blocks,
    }
}

fn compare_options(
    list: &[TcpOptionSpec],
    actual: &Outbound,
    map: &SeqMap,
    mode: CompareMode,
    ctx: MatchContext,
) -> Result<(), Mismatch> {
    let seg = actual.segment();
    let opts = &seg.header.options;
    match mode {
        CompareMode::Strict => {
            // Packetdrill: the option bytes must be identical, except that
            // the TSval is not checked.
            let live_val = opts.timestamps.map_or(0, |t| t.tsval);
            let ts_val = |_: Option<u32>| Ok(live_val);
            let ts_ecr = |e: u32, _: bool| Ok(e);
            let expected = packet::encode_options(
                list,
                &OptionValues {
                    sack_offset: 0,
                    ts_val: &ts_val,
                    ts_ecr: &ts_ecr,
                },
            )
            .map_err(|e| mismatch("options", render_list(list), e))?;
            let hlen = actual.bytes.len() - seg.payload.len();
            let raw = &actual.bytes[tcp_core::wire::MIN_HEADER_LEN..hlen];
            if raw != expected.as_slice() {
                return Err(mismatch(
                    "options",
                    render_list(list),
                    render_actual(actual, map),
                ));
            }
            Ok(())
        }
        CompareMode::Lenient => {
            let wanted = script_kinds(list);
            let differ = || mismatch("options", render_list(list), render_actual(actual, map));
            // Options the stack does not understand would be unknown kinds.
            if actual
                .options
                .iter()
                .any(|o| matches!(o, RawOption::Other { kind: k, .. } if ![kind::MSS, kind::WSCALE, kind::SACK_PERMITTED, kind::SACK, kind::TIMESTAMP].contains(k)))
            {
                return Err(differ());
            }
            let mut want_mss = None;
            let mut want_ws = false;
            let mut want_sack_ok = false;
            let mut want_ts = None;
            let mut want_sack = None;
            for o in &wanted {
                match o {
                    TcpOptionSpec::Mss(v) => want_mss = Some(*v),
                    TcpOptionSpec::WindowScale(_) => want_ws = true,
                    TcpOptionSpec::SackPermitted => want_sack_ok = true,
                    TcpOptionSpec::Timestamp { ecr, .. } => want_ts = Some(*ecr),
                    TcpOptionSpec::Sack(b) => want_sack = Some(b.clone()),
                    // Options the stack never sends: any expectation of one fails.
                    _ => return Err(differ()),
                }
            }
            match (want_mss, opts.mss) {
                (Some(w), Some(a)) if w != a => return Err(mismatch("mss option", w, a)),
                (Some(_), None) => return Err(differ()),
                (None, Some(_)) if !ctx.noopt => return Err(differ()),
                _ => {}
            }
            if want_ws != opts.window_scale.is_some() || want_sack_ok != opts.sack_permitted {
                return Err(differ());
            }
            match (want_ts, opts.timestamps) {
                (Some(ecr), Some(ts)) if ecr != ts.tsecr => {
                    return Err(mismatch("TS ecr", ecr, ts.tsecr));
                }
                (Some(_), None) | (None, Some(_)) => return Err(differ()),
                _ => {}
            }
            let live_blocks: Vec<(u32, u32)> = opts
                .sack_blocks
                .as_slice()
                .iter()
                .map(|(l, r)| (l.0, r.0))
                .collect();
            let ack = seg.header.ack.0;
            let want = want_sack
                .as_deref()
                .map_or(&[][..], |b| strip_dsack(b, ack));
            if want != strip_dsack(&live_blocks, ack) {
                return Err(mismatch(
                    "SACK blocks",
                    render_list(list),
                    render_actual(actual, map),
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packetdrill::packet::build_inbound;
    use crate::packetdrill::{parse_script, StatementKind};
    use std::net::Ipv4Addr;
    use tcp_core::wire::PseudoHeader;

    fn spec(line: &str) -> PacketSpec {
        let s = parse_script("t", &format!("0 {line}\n"), &[]).unwrap();
        match &s.statements[0].kind {
            StatementKind::Packet(p) => p.clone(),
            other => panic!("not a packet: {other:?}"),
        }
    }

    /// A segment "sent by the stack", built from script syntax (the
    /// direction is flipped only to reuse the encoder).
    fn sent(line: &str) -> Outbound {
        let ph = PseudoHeader::v4(Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2));
        let mut p = spec(&line.replacen('>', "<", 1));
        if p.win.is_none() {
            p.win = Some(65535);
        }
        let bytes = build_inbound(&p, &SeqMap::default(), (8080, 40000), &ph).unwrap();
        Outbound::parse(bytes).unwrap()
    }

    fn check(expect: &str, actual: &str, mode: CompareMode) -> Result<(), Mismatch> {
        compare(
            &spec(expect),
            &sent(actual),
            &SeqMap::default(),
            mode,
            MatchContext::default(),
        )
    }

    #[test]
    fn identical_segments_match() {
        let line = "> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>";
        assert_eq!(check(line, line, CompareMode::Strict), Ok(()));
        assert_eq!(check(line, line, CompareMode::Lenient), Ok(()));
    }

    #[test]
    fn wrong_flags_are_reported() {
        let e = check(
            "> S. 0:0(0) ack 1 win 1",
            "> S 0:0(0) win 1",
            CompareMode::Lenient,
        )
        .unwrap_err();
        assert_eq!(e.field, "flags");
        assert_eq!((e.expected.as_str(), e.actual.as_str()), ("S.", "S"));
    }

    #[test]
    fn wrong_ack_is_reported() {
        let e = check(
            "> . 1:1(0) ack 2 win 1",
            "> . 1:1(0) ack 1 win 1",
            CompareMode::Lenient,
        )
        .unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.expected.as_str(), e.actual.as_str()),
            ("ack", "2", "1")
        );
    }

    #[test]
    fn wrong_seq_and_length_are_reported() {
        let e = check(
            "> . 2:2(0) ack 1 win 1",
            "> . 1:1(0) ack 1 win 1",
            CompareMode::Lenient,
        )
        .unwrap_err();
        assert_eq!(e.field, "seq");
        let e = check(
            "> P. 1:11(10) ack 1 win 1",
            "> P. 1:6(5) ack 1 win 1",
            CompareMode::Lenient,
        )
        .unwrap_err();
        assert_eq!(e.field, "payload length");
    }

    #[test]
    fn window_is_compared_only_in_strict_mode() {
        let (e, a) = ("> . 1:1(0) ack 1 win 65535", "> . 1:1(0) ack 1 win 1026");
        assert_eq!(check(e, a, CompareMode::Lenient), Ok(()));
        assert_eq!(check(e, a, CompareMode::Strict).unwrap_err().field, "win");
    }

    #[test]
    fn option_layout_is_compared_only_in_strict_mode() {
        let e = "> S. 0:0(0) ack 1 win 1 <mss 1460,sackOK,eol,eol>";
        let a = "> S. 0:0(0) ack 1 win 1 <mss 1460,nop,nop,sackOK>";
        assert_eq!(check(e, a, CompareMode::Lenient), Ok(()));
        assert_eq!(
            check(e, a, CompareMode::Strict).unwrap_err().field,
            "options"
        );
    }

    #[test]
    fn missing_or_extra_options_fail_in_lenient_mode() {
        let e = "> S. 0:0(0) ack 1 win 1 <mss 1460,sackOK,eol,eol>";
        assert!(check(
            e,
            "> S. 0:0(0) ack 1 win 1 <mss 1460,nop,nop,nop>",
            CompareMode::Lenient
        )
        .is_err());
        assert!(check(
            e,
            "> S. 0:0(0) ack 1 win 1 <mss 1460,sackOK,nop,wscale 6>",
            CompareMode::Lenient
        )
        .is_err());
        let e = check(
            e,
            "> S. 0:0(0) ack 1 win 1 <mss 1400,sackOK,eol,eol>",
            CompareMode::Lenient,
        )
        .unwrap_err();
        assert_eq!(e.field, "mss option");
    }

    #[test]
    fn window_scale_value_and_ts_val_are_freebsd_values() {
        let e = "> S 0:0(0) win 1 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>";
        let a = "> S 0:0(0) win 1 <mss 1460,nop,wscale 2,sackOK,TS val 1 ecr 0>";
        assert_eq!(check(e, a, CompareMode::Lenient), Ok(()));
        let a = "> S 0:0(0) win 1 <mss 1460,nop,wscale 6,sackOK,TS val 1 ecr 9>";
        assert_eq!(
            check(e, a, CompareMode::Lenient).unwrap_err().field,
            "TS ecr"
        );
    }

    #[test]
    fn sack_blocks_are_compared_in_order() {
        let e = "> . 1:1(0) ack 8 win 1 <nop,nop,sack 16:32 40:50>";
        assert_eq!(check(e, e, CompareMode::Lenient), Ok(()));
        let a = "> . 1:1(0) ack 8 win 1 <nop,nop,sack 40:50 16:32>";
        assert_eq!(
            check(e, a, CompareMode::Lenient).unwrap_err().field,
            "SACK blocks"
        );
    }

    #[test]
    fn dsack_blocks_are_set_aside() {
        assert_eq!(strip_dsack(&[(50, 100), (600, 700)], 300), &[(600, 700)]);
        assert_eq!(strip_dsack(&[(250, 300), (200, 500)], 100), &[(200, 500)]);
        assert_eq!(
            strip_dsack(&[(600, 700), (200, 300)], 100),
            &[(600, 700), (200, 300)]
        );
        let e = "> . 1:1(0) ack 800 win 1 <nop,nop,sack 1:700>";
        assert_eq!(
            check(e, "> . 1:1(0) ack 800 win 1", CompareMode::Lenient),
            Ok(())
        );
        let e = "> . 1:1(0) ack 100 win 1 <nop,nop,sack 50:60 200:300>";
        let a = "> . 1:1(0) ack 100 win 1 <nop,nop,sack 200:300>";
        assert_eq!(check(e, a, CompareMode::Lenient), Ok(()));
        let a = "> . 1:1(0) ack 100 win 1 <nop,nop,sack 200:400>";
        assert!(check(e, a, CompareMode::Lenient).is_err());
    }

    #[test]
    fn fin_retransmission_carrying_an_ack_matches_the_rfc_ack() {
        let expect = spec("> F. 1:1(0) ack 2 win 1");
        let ack = sent("> . 2:2(0) ack 2 win 1");
        let mut map = SeqMap::default();
        // Before our FIN went out, the pure ACK is not a FIN retransmission.
        assert!(compare(
            &expect,
            &ack,
            &map,
            CompareMode::Lenient,
            MatchContext::default()
        )
        .is_err());
        map.record_fin(1);
        assert_eq!(
            compare(
                &expect,
                &ack,
                &map,
                CompareMode::Lenient,
                MatchContext::default()
            ),
            Ok(())
        );
        // Strict mode, a different ack, or a different sequence number still fail.
        assert!(compare(
            &expect,
            &ack,
            &map,
            CompareMode::Strict,
            MatchContext::default()
        )
        .is_err());
        let other = sent("> . 2:2(0) ack 1 win 1");
        assert!(compare(
            &expect,
            &other,
            &map,
            CompareMode::Lenient,
            MatchContext::default()
        )
        .is_err());
        let other = sent("> . 3:3(0) ack 2 win 1");
        assert!(compare(
            &expect,
            &other,
            &map,
            CompareMode::Lenient,
            MatchContext::default()
        )
        .is_err());
    }

    #[test]
    fn noopt_socket_tolerates_an_mss_option() {
        let e = spec("> S 0:0(0)");
        let a = sent("> S 0:0(0) win 1 <mss 1460>");
        let noopt = MatchContext { noopt: true };
        let map = SeqMap::default();
        assert_eq!(compare(&e, &a, &map, CompareMode::Lenient, noopt), Ok(()));
        assert!(compare(&e, &a, &map, CompareMode::Lenient, MatchContext::default()).is_err());
    }
}
