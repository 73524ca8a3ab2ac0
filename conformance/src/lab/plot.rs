//! Plots of lab runs and sweeps (plotters), as SVG or PNG by the file's
//! extension. Text is laid out with a TrueType font found on the system
//! (`TCPFSM_FONT`, else DejaVu Sans or Liberation Sans, else what
//! `fc-match sans` names).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use tcp_core::TcpState;

use super::report::RunReport;
use super::sweep::{SweepReport, CLIENT_STATES, SERVER_STATES};
use super::{fmt_duration, LabConfig};

/// Where fonts are looked for, after `$TCPFSM_FONT`.
const FONT_PATHS: [&str; 6] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
];
const FONT: &str = "sans-serif";

/// The image formats a plot can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    /// The format a file name asks for: `.svg` or `.png`.
    pub fn from_path(path: &Path) -> Result<ImageFormat, PlotError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(ImageFormat::Svg),
            Some("png") => Ok(ImageFormat::Png),
            _ => Err(PlotError::UnknownFormat(path.to_path_buf())),
        }
    }
}

/// Why a plot could not be drawn.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlotError {
    #[error("{}: a plot is written as .svg or .png", .0.display())]
    UnknownFormat(PathBuf),
    #[error("plots need a TrueType font and none was found (tried $TCPFSM_FONT, {tried}, fc-match); Debian/Ubuntu: apt-get install fonts-dejavu-core, or set TCPFSM_FONT=/path/to/font.ttf")]
    NoFont { tried: String },
    #[error("nothing to plot: {0}")]
    NoData(&'static str),
    #[error("cannot draw {}: {message}", path.display())]
    Draw { path: PathBuf, message: String },
}

/// Registers the TrueType font at `path` for plotters; false if it cannot
/// be read or parsed.
fn register(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    // plotters keeps fonts for the life of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FONT, FontStyle::Normal, bytes).is_ok()
}

/// Registers the font once per process; later calls return the first
/// outcome.
fn ensure_font() -> Result<(), PlotError> {
    static FONT_STATE: OnceLock<Result<(), PlotError>> = OnceLock::new();
    FONT_STATE
        .get_or_init(|| {
            let mut candidates: Vec<PathBuf> = Vec::new();
            if let Some(p) = std::env::var_os("TCPFSM_FONT").filter(|p| !p.is_empty()) {
                candidates.push(PathBuf::from(p));
            }
            candidates.extend(FONT_PATHS.iter().map(PathBuf::from));
            if candidates.iter().any(|p| register(p)) {
                return Ok(());
            }
            // Last resort: ask fontconfig for its sans-serif font.
            if let Ok(out) = std::process::Command::new("fc-match")
                .args(["-f", "%{file}", "sans"])
                .output()
            {
                let file = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if out.status.success() && file.ends_with(".ttf") && register(Path::new(&file)) {
                    return Ok(());
                }
            }
            Err(PlotError::NoFont {
                tried: FONT_PATHS.join(", "),
            })
        })
        .clone()
}

/// One line of a panel.
struct Series {
    name: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    dashed: bool,
    markers: bool,
}

/// One chart.
struct Panel {
    title: String,
    x_desc: String,
    y_desc: String,
    series: Vec<Series>,
    log_y: bool,
}

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const RED: RGBColor = RGBColor(214, 39, 40);
const PURPLE: RGBColor = RGBColor(148, 103, 189);
const BROWN: RGBColor = RGBColor(140, 86, 75);
const GREY: RGBColor = RGBColor(127, 127, 127);

fn state_color(s: TcpState) -> RGBColor {
    match s {
        TcpState::SynSent | TcpState::SynReceived => ORANGE,
        TcpState::Established => BLUE,
        TcpState::FinWait1 | TcpState::CloseWait => GREEN,
        TcpState::FinWait2 | TcpState::LastAck => PURPLE,
        TcpState::TimeWait => GREY,
        TcpState::Closing => RED,
        TcpState::Listen | TcpState::Closed => BROWN,
    }
}

fn draw_err(path: &Path) -> impl Fn(String) -> PlotError + '_ {
    move |message| PlotError::Draw {
        path: path.to_path_buf(),
        message,
    }
}

/// A number for an axis label: at most three significant decimals, no
/// trailing zeros.
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    let text = if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn x_range(points: &[f64]) -> Range<f64> {
    let lo = points.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = points.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0..1.0;
    }
    if hi <= lo {
        return (lo - 1.0).min(0.0)..hi + 1.0;
    }
    let pad = (hi - lo) * 0.04;
    (lo - pad).min(if lo >= 0.0 { 0.0 } else { lo - pad })..hi + pad
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    x: Range<f64>,
) -> Result<(), String> {
    let ys: Vec<f64> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|y| y.is_finite() && (!panel.log_y || *y > 0.0))
        .collect();
    if panel.log_y {
        let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() && hi.is_finite() {
            (lo / 2.0, hi * 2.0)
        } else {
            (0.1, 10.0)
        };
        let (legend, hi) = legend_place(panel, &x, lo, hi, true);
        fill_panel(area, panel, x, (lo..hi).log_scale(), legend)
    } else {
        let hi = ys.iter().copied().fold(0.0, f64::max);
        let hi = if hi > 0.0 { hi * 1.12 } else { 1.0 };
        let (legend, hi) = legend_place(panel, &x, 0.0, hi, false);
        fill_panel(area, panel, x, 0.0..hi, legend)
    }
}

/// A corner for the legend where no point lies (upper corners first), and
/// the top of the y range: raised until some corner is free.
fn legend_place(
    panel: &Panel,
    x: &Range<f64>,
    lo: f64,
    mut hi: f64,
    log: bool,
) -> (SeriesLabelPosition, f64) {
    let entries = panel.series.len() as f64;
    // The legend's share of the plot: about 7% of the height per entry.
    let tall = (0.06 + 0.07 * entries).min(0.9);
    let wide = 0.42;
    let frac = |v: f64, lo: f64, hi: f64| {
        if log {
            (v.ln() - lo.ln()) / (hi.ln() - lo.ln())
        } else {
            (v - lo) / (hi - lo)
        }
    };
    let points: Vec<(f64, f64)> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(_, y)| y.is_finite() && (!log || *y > 0.0))
        .collect();
    for _ in 0..6 {
        let fr: Vec<(f64, f64)> = points
            .iter()
            .map(|&(px, py)| ((px - x.start) / (x.end - x.start), frac(py, lo, hi)))
            .collect();
        let corners = [
            (SeriesLabelPosition::UpperRight, true, true),
            (SeriesLabelPosition::UpperLeft, false, true),
            (SeriesLabelPosition::LowerRight, true, false),
            (SeriesLabelPosition::LowerLeft, false, false),
        ];
        for (pos, right, upper) in corners {
            let inside = fr.iter().any(|&(fx, fy)| {
                let in_x = if right { fx > 1.0 - wide } else { fx < wide };
                let in_y = if upper {
                    fy > 1.0 - tall
                } else {
                    fy < tall + 0.05
                };
                in_x && in_y
            });
            if !inside {
                return (pos, hi);
            }
        }
        hi = if log {
            hi * (hi / lo).powf(0.35)
        } else {
            lo + (hi - lo) * 1.35
        };
    }
    (SeriesLabelPosition::UpperRight, hi)
}

fn fill_panel<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    x: Range<f64>,
    y: Y,
    legend: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 19))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc(&panel.x_desc)
        .y_desc(&panel.y_desc)
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 13))
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(|x| e(&x))?;
    for s in &panel.series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(_, y)| y.is_finite() && (!panel.log_y || *y > 0.0))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let color = s.color;
        let style = ShapeStyle::from(&color).stroke_width(2);
        let legend = move |(x, y): (i32, i32)| {
            PathElement::new(
                vec![(x, y), (x + 22, y)],
                ShapeStyle::from(&color).stroke_width(2),
            )
        };
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style))
                .map_err(|x| e(&x))?
                .label(s.name.as_str())
                .legend(legend);
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), style))
                .map_err(|x| e(&x))?
                .label(s.name.as_str())
                .legend(legend);
        }
        if s.markers {
            chart
                .draw_series(
                    pts.iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
                )
                .map_err(|x| e(&x))?;
        }
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()
        .map_err(|x| e(&x))?;
    Ok(())
}

/// Draws `panels` in a grid under `title` into `path` (SVG or PNG).
fn render(
    path: &Path,
    size: (u32, u32),
    title: &str,
    grid: (usize, usize),
    panels: &[Panel],
    x: Range<f64>,
) -> Result<(), PlotError> {
    let format = ImageFormat::from_path(path)?;
    ensure_font()?;
    let err = draw_err(path);
    match format {
        ImageFormat::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw_all(&root, title, grid, panels, x).map_err(&err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
        ImageFormat::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw_all(&root, title, grid, panels, x).map_err(&err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
    }
}

fn draw_all<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    grid: (usize, usize),
    panels: &[Panel],
    x: Range<f64>,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let body = root.titled(title, (FONT, 24)).map_err(|e| e.to_string())?;
    for (area, panel) in body.split_evenly(grid).iter().zip(panels) {
        draw_panel(area, panel, x.clone())?;
    }
    Ok(())
}

/// The client's congestion window (and slow-start threshold) over time.
pub fn plot_cwnd(run: &RunReport, config: &LabConfig, path: &Path) -> Result<(), PlotError> {
    if run.cwnd.is_empty() {
        return Err(PlotError::NoData(
            "no congestion-window samples (record them with Recording::cwnd)",
        ));
    }
    let kib = |b: u32| f64::from(b) / 1024.0;
    let t = |s: &super::CwndSample| s.time.as_secs_f64();
    // Step shape: the window holds its value until the next sample.
    let mut cwnd = Vec::with_capacity(run.cwnd.len() * 2);
    let mut ssthresh = Vec::new();
    let mut flight = Vec::with_capacity(run.cwnd.len());
    for (i, s) in run.cwnd.iter().enumerate() {
        if i > 0 {
            cwnd.push((t(s), kib(run.cwnd[i - 1].cwnd)));
        }
        cwnd.push((t(s), kib(s.cwnd)));
        flight.push((t(s), kib(s.flight)));
        if s.ssthresh != u32::MAX {
            ssthresh.push((t(s), kib(s.ssthresh)));
        }
    }
    let end = run
        .last_byte
        .map_or(run.sim_duration.as_secs_f64(), |l| l.as_secs_f64());
    if let Some(last) = run.cwnd.last() {
        cwnd.push((end.max(t(last)), kib(last.cwnd)));
    }
    let window = config.window as f64 / 1024.0;
    let mut series = vec![
        Series {
            name: "bytes in flight".to_string(),
            color: GREEN,
            points: flight,
            dashed: false,
            markers: false,
        },
        Series {
            name: "cwnd".to_string(),
            color: BLUE,
            points: cwnd,
            dashed: false,
            markers: false,
        },
    ];
    if !ssthresh.is_empty() {
        series.push(Series {
            name: "ssthresh".to_string(),
            color: ORANGE,
            points: ssthresh,
            dashed: true,
            markers: false,
        });
    }
    series.push(Series {
        name: "receive window (buffer)".to_string(),
        color: GREY,
        points: vec![(0.0, window), (end, window)],
        dashed: true,
        markers: false,
    });
    let panel = Panel {
        title: format!(
            "Client congestion window ({}, {} engine)",
            config.cc.name(),
            run.engine.as_str()
        ),
        x_desc: "time (s)".to_string(),
        y_desc: "window (KiB)".to_string(),
        series,
        log_y: false,
    };
    let title = format!(
        "{} over {}",
        super::fmt_bytes(config.bytes),
        config.describe_link()
    );
    render(
        path,
        (1100, 650),
        &title,
        (1, 1),
        &[panel],
        0.0..end.max(1e-6) * 1.02,
    )
}

/// A sweep's figures against the swept variable: throughput (with the
/// window/RTT bound), handshake and teardown times, the time in each state
/// of each side (log scale), and retransmissions and drops.
pub fn plot_sweep(report: &SweepReport, path: &Path) -> Result<(), PlotError> {
    if report.points.is_empty() {
        return Err(PlotError::NoData("the sweep has no points"));
    }
    let xs: Vec<f64> = report.points.iter().map(|p| p.x).collect();
    let axis = report.axis.name();
    let x_desc = format!("{axis} ({})", report.axis.unit());
    let ms = |d: Option<tcp_core::time::Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
    let line = |name: &str, color, points: Vec<(f64, f64)>| Series {
        name: name.to_string(),
        color,
        points,
        dashed: false,
        markers: true,
    };

    let mut throughput = vec![line(
        "measured",
        BLUE,
        report
            .points
            .iter()
            .map(|p| (p.x, p.run.throughput_bps.map_or(f64::NAN, |t| t / 1e6)))
            .collect(),
    )];
    let bound: Vec<(f64, f64)> = report
        .points
        .iter()
        .filter_map(|p| {
            let rtt = p.config.delay.rtt().as_secs_f64();
            (rtt > 0.0).then(|| (p.x, p.config.window as f64 * 8.0 / rtt / 1e6))
        })
        .collect();
    let measured_max = throughput[0]
        .points
        .iter()
        .map(|p| p.1)
        .filter(|y| y.is_finite())
        .fold(0.0, f64::max);
    if !bound.is_empty() {
        // Keep the axis about the measurements: the bound can be far above
        // them at small RTTs.
        let cap = measured_max * 1.6;
        throughput.push(Series {
            name: format!(
                "window / RTT bound ({} window)",
                super::fmt_bytes(report.base.window as u64)
            ),
            color: RED,
            points: bound
                .into_iter()
                .filter(|(_, y)| cap <= 0.0 || *y <= cap)
                .collect(),
            dashed: true,
            markers: false,
        });
    }
    let no_time = report
        .points
        .iter()
        .filter(|p| p.run.throughput_bps.is_none())
        .map(|p| p.label.clone())
        .collect::<Vec<_>>();
    let panels = vec![
        Panel {
            title: if no_time.is_empty() {
                "Throughput".to_string()
            } else {
                format!("Throughput ({}: unbounded, not drawn)", no_time.join(", "))
            },
            x_desc: x_desc.clone(),
            y_desc: "throughput (Mbit/s)".to_string(),
            series: throughput,
            log_y: false,
        },
        Panel {
            title: "Handshake: active OPEN to ESTABLISHED (theory: 1 and 1.5 RTT)".to_string(),
            x_desc: x_desc.clone(),
            y_desc: "time (ms)".to_string(),
            series: vec![
                line(
                    "client",
                    BLUE,
                    report
                        .points
                        .iter()
                        .map(|p| (p.x, ms(p.run.handshake_client)))
                        .collect(),
                ),
                line(
                    "server",
                    ORANGE,
                    report
                        .points
                        .iter()
                        .map(|p| (p.x, ms(p.run.handshake_server)))
                        .collect(),
                ),
            ],
            log_y: false,
        },
        Panel {
            title: "Teardown: first FIN to TIME_WAIT/CLOSED".to_string(),
            x_desc: x_desc.clone(),
            y_desc: "time (ms)".to_string(),
            series: vec![line(
                "teardown",
                GREEN,
                report
                    .points
                    .iter()
                    .map(|p| (p.x, ms(p.run.teardown)))
                    .collect(),
            )],
            log_y: false,
        },
        state_panel(
            report,
            "Client: time in each state (zeros not drawn)",
            &CLIENT_STATES,
            true,
            &x_desc,
        ),
        state_panel(
            report,
            "Server: time in each state (zeros not drawn)",
            &SERVER_STATES,
            false,
            &x_desc,
        ),
        Panel {
            title: "Retransmissions and drops".to_string(),
            x_desc: x_desc.clone(),
            y_desc: "packets".to_string(),
            series: vec![
                line(
                    "retransmitted",
                    RED,
                    report
                        .points
                        .iter()
                        .map(|p| (p.x, p.run.packets.total().retransmissions as f64))
                        .collect(),
                ),
                line(
                    "dropped by the link",
                    GREY,
                    report
                        .points
                        .iter()
                        .map(|p| (p.x, p.run.packets.total().dropped() as f64))
                        .collect(),
                ),
            ],
            log_y: false,
        },
    ];
    let base = &report.base;
    let fixed = base.describe_link_except(Some(report.axis.link_part()));
    let title = format!(
        "{} sweep: {} in {} writes, {}, {} window, {}, MSL {}",
        axis,
        super::fmt_bytes(base.bytes),
        super::fmt_bytes(base.write_size as u64),
        fixed,
        super::fmt_bytes(base.window as u64),
        base.cc.name(),
        fmt_duration(base.msl)
    );
    render(path, (1650, 1000), &title, (2, 3), &panels, x_range(&xs))
}

fn state_panel(
    report: &SweepReport,
    title: &str,
    states: &[TcpState],
    client: bool,
    x_desc: &str,
) -> Panel {
    let series = states
        .iter()
        .map(|&s| Series {
            name: s.display().to_string(),
            color: state_color(s),
            points: report
                .points
                .iter()
                .map(|p| {
                    let side = if client { &p.run.client } else { &p.run.server };
                    (p.x, side.time_in(s).as_secs_f64() * 1e3)
                })
                .collect(),
            // Dashed lines let a series drawn earlier show through (the
            // handshake and the FIN states often take the same time).
            dashed: matches!(
                s,
                TcpState::TimeWait | TcpState::FinWait1 | TcpState::LastAck
            ),
            markers: true,
        })
        .collect();
    Panel {
        title: title.to_string(),
        x_desc: x_desc.to_string(),
        y_desc: "time (ms, log scale)".to_string(),
        series,
        log_y: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(
            ImageFormat::from_path(Path::new("a.svg")),
            Ok(ImageFormat::Svg)
        );
        assert_eq!(
            ImageFormat::from_path(Path::new("a.PNG")),
            Ok(ImageFormat::Png)
        );
        assert!(ImageFormat::from_path(Path::new("a.pdf")).is_err());
    }

    fn series(points: Vec<(f64, f64)>) -> Series {
        Series {
            name: String::new(),
            color: BLUE,
            points,
            dashed: false,
            markers: true,
        }
    }

    #[test]
    fn legend_avoids_the_corners_with_data() {
        let xs = [0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0];
        let x = x_range(&xs);
        // Rising lines: the upper right is taken, the upper left is free.
        let rising = Panel {
            title: String::new(),
            x_desc: String::new(),
            y_desc: String::new(),
            log_y: false,
            series: vec![series(xs.iter().map(|&v| (v, v * 1.5)).collect())],
        };
        let (pos, _) = legend_place(&rising, &x, 0.0, 300.0 * 1.12, false);
        assert!(matches!(pos, SeriesLabelPosition::UpperLeft));
        // Log scale, like the time in each state of an RTT sweep.
        let states = Panel {
            log_y: true,
            series: vec![
                series(xs.iter().map(|&v| (v, v)).collect()),
                series(xs.iter().map(|&v| (v, v * 67.0)).collect()),
                series(xs.iter().map(|&v| (v, 4000.0)).collect()),
            ],
            ..rising
        };
        let (pos, _) = legend_place(&states, &x, 2.5, 26800.0, true);
        assert!(matches!(pos, SeriesLabelPosition::LowerRight));
    }

    #[test]
    fn ticks_drop_trailing_zeros() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(20.0), "20");
        assert_eq!(tick(250.0), "250");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(1.5), "1.5");
    }
}
