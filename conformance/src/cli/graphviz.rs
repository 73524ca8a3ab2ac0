//! SVG and PNG output through Graphviz's `dot` program (`TCPFSM_DOT`
//! overrides which program is run).

use std::io::{Read, Write};
use std::process::{Command, Stdio};

/// The output formats of `tcpfsm dot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Graphviz DOT text.
    Dot,
    /// SVG, through Graphviz.
    Svg,
    /// PNG, through Graphviz.
    Png,
}

/// Why Graphviz could not render.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("--format {format} needs Graphviz's `{program}`, which is not installed (Debian/Ubuntu: apt-get install graphviz); --format dot needs nothing")]
    NotInstalled {
        program: String,
        format: &'static str,
    },
    #[error("cannot run `{program}`: {source}")]
    Run {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{program}` failed: {message}")]
    Failed { program: String, message: String },
}

/// The program run for SVG/PNG: `$TCPFSM_DOT`, else `dot`.
pub fn dot_program() -> String {
    std::env::var("TCPFSM_DOT")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "dot".to_string())
}

/// `dot` text as-is, or rendered by Graphviz.
pub fn render(dot: &str, format: Format) -> Result<Vec<u8>, RenderError> {
    let (flag, name) = match format {
        Format::Dot => return Ok(dot.as_bytes().to_vec()),
        Format::Svg => ("-Tsvg", "svg"),
        Format::Png => ("-Tpng", "png"),
    };
    let program = dot_program();
    let run_err = |source: std::io::Error| RenderError::Run {
        program: program.clone(),
        source,
    };
    let mut child = Command::new(&program)
        .arg(flag)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RenderError::NotInstalled {
                program: program.clone(),
                format: name,
            },
            _ => run_err(e),
        })?;
    let (mut stdin, mut stdout, mut stderr) =
        match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
            (Some(i), Some(o), Some(e)) => (i, o, e),
            _ => return Err(run_err(std::io::Error::other("no pipes to the child"))),
        };
    // Feed the input while reading the output, so neither pipe can fill up.
    let (written, out, err) = std::thread::scope(|s| {
        let writer = s.spawn(move || stdin.write_all(dot.as_bytes()));
        let err_reader = s.spawn(move || {
            let mut e = Vec::new();
            stderr.read_to_end(&mut e).map(|_| e)
        });
        let mut out = Vec::new();
        let read = stdout.read_to_end(&mut out).map(|_| out);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("writer thread panicked")));
        let err = err_reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("reader thread panicked")));
        (written, read, err)
    });
    let status = child.wait().map_err(run_err)?;
    let err_text = err
        .map(|e| String::from_utf8_lossy(&e).into_owned())
        .unwrap_or_default();
    if !status.success() {
        let first = err_text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(RenderError::Failed {
            program,
            message: format!("{status}: {first}"),
        });
    }
    written.map_err(run_err)?;
    out.map_err(run_err)
}
