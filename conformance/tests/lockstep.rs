//! The engines side by side under property-based adversarial input: after
//! every input, segments out, app events, call results, state and key TCB
//! variables must be identical. `TCPFSM_PROPTEST_CASES` raises the case count
//! (default 10 000).

use conformance::lockstep::{all_engines, lockstep_config, Lockstep};
use conformance::strategies;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

fn cases() -> u32 {
    std::env::var("TCPFSM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    })]

    #[test]
    fn engines_agree_on_adversarial_input(inputs in strategies::run(40)) {
        let mut ls = Lockstep::new(all_engines(), lockstep_config());
        if let Err(d) = ls.run(&inputs) {
            prop_assert!(false, "{}", d);
        }
    }
}

#[test]
fn lockstep_detects_a_divergence() {
    // A harness that cannot fail proves nothing: give one engine a different
    // configuration (a smaller MSS) and check the harness reports it.
    use conformance::lockstep::{establish, Input};
    use tcp_core::engine::AnyEngine;
    use tcp_core::EngineKind;
    let mut ls = Lockstep::new_with_configs(vec![
        (AnyEngine::builtin(EngineKind::Table), lockstep_config()),
        (
            AnyEngine::builtin(EngineKind::Interpreted),
            tcp_core::Config {
                mss: 100,
                ..lockstep_config()
            },
        ),
    ]);
    let mut inputs = establish(true);
    inputs.push(Input::Send(1000));
    let err = ls.run(&inputs).expect_err("different MSS must be visible");
    assert!(err.to_string().contains("diverged"));
}
