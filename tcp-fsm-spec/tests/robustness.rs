//! Whatever text it is given, `parse_spec` returns diagnostics (or a spec)
//! and never panics, and rendering those diagnostics never panics either.
//! Inputs come from a fixed-seed generator, so failures reproduce.

use tcp_fsm_spec::{parse_spec, TCP_SPEC};

/// xorshift64*: small, deterministic, good enough to shake a parser.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

/// Parses and renders; returns whether the text was a valid spec.
fn check(text: &str) -> bool {
    match parse_spec("fuzz.fsm", text) {
        Ok(spec) => {
            // A spec that validates must be total: every cell has a row.
            for c in spec.cells() {
                assert!(c.row.index() < spec.rows.len(), "{text}");
            }
            true
        }
        Err(d) => {
            assert!(!d.is_empty());
            let r = d.render();
            assert!(r.contains("fuzz.fsm:"));
            for diag in &d {
                assert!(diag.code.starts_with('E'));
                diag.headline("fuzz.fsm");
            }
            false
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let len = rng.below(120);
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn random_token_soups_never_panic() {
    // Every keyword of the lexer, then names, punctuation and odd bytes.
    const OTHER: &[&str] = &[
        "A",
        "B",
        "Closed",
        "Syn",
        "g",
        "Act",
        "E",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ".",
        "/",
        "!",
        "=",
        "*",
        "->",
        "-",
        "\"lbl\"",
        "\"open",
        "/// RFC 9293 §3.1",
        "// c",
        "\n",
        " ",
        "\t",
        "é",
        "#",
        "\r\n",
    ];
    let vocab: Vec<&str> = tcp_fsm_spec::lexer::KEYWORDS
        .iter()
        .chain(OTHER)
        .copied()
        .collect();
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let n = rng.below(60);
        let text: String = (0..n)
            .map(|_| {
                let t = vocab[rng.below(vocab.len())];
                format!("{t} ")
            })
            .collect();
        check(&text);
    }
}

#[test]
fn mutations_of_the_real_spec_never_panic() {
    let lines: Vec<&str> = TCP_SPEC.lines().collect();
    let mut rng = Rng(7);
    let mut valid = 0;
    for _ in 0..300 {
        let mut ls: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(ls.len());
            match rng.below(5) {
                0 => {
                    ls.remove(i);
                }
                1 => {
                    let dup = ls[i].clone();
                    ls.insert(i, dup);
                }
                2 => {
                    let j = rng.below(ls.len());
                    ls.swap(i, j);
                }
                3 => {
                    // Cut the line at a random character.
                    let cut = rng.below(ls[i].chars().count() + 1);
                    ls[i] = ls[i].chars().take(cut).collect();
                }
                _ => {
                    // Drop one character.
                    let chars: Vec<char> = ls[i].chars().collect();
                    if !chars.is_empty() {
                        let k = rng.below(chars.len());
                        ls[i] = chars
                            .iter()
                            .enumerate()
                            .filter(|(n, _)| *n != k)
                            .map(|(_, c)| c)
                            .collect();
                    }
                }
            }
        }
        if check(&ls.join("\n")) {
            valid += 1;
        }
    }
    // Some mutations only touch comments or docs; most break something.
    assert!(valid < 300);
}
