//! `chart.svg`: queue depth and workers over time, both platforms on one time axis, measured
//! lines solid and a prediction's dashed (plotters). Each panel's legend stands to the right of
//! its plot, so it never hides a line; a figure that is not known is a gap in its line (or a
//! legend entry that says "no data"), never a line at zero.

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::core::experiment::Sample;
use crate::core::side::Side;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 700;
/// The legend's column, to the right of each panel's plot.
const LEGEND_WIDTH: u32 = 280;
/// The legend box's border, which no series uses: tests find the box by it.
pub const LEGEND_BORDER: RGBColor = RGBColor(64, 64, 64);
/// Font sizes as plotters takes them: its SVG writes `size / 1.24` px, so 15 is about 12 px
/// (axis labels and the legend), 18 about 14.5 px (a panel's caption), 21 about 17 px (the
/// title).
const TEXT: f64 = 15.0;
const CAPTION: f64 = 18.0;
const TITLE: f64 = 21.0;
/// Legend lines: their height in pixels, and the characters a line holds before it wraps.
const LEGEND_LINE: i32 = 18;
const LEGEND_CHARS: usize = 34;
/// The load's window, shaded.
const LOAD_SHADE: RGBColor = RGBColor(190, 190, 190);
const LOAD_OPACITY: f64 = 0.45;
/// A load narrower than this share of the time axis (a `--count` burst) would be a shade
/// too thin to see: it is marked with a triangle above the plot at its time instead.
const BURST_SHARE: f64 = 0.01;
const BURST: RGBColor = RGBColor(90, 90, 90);
/// A pause between two measured samples longer than this many times the usual one (their
/// median) is a gap in the line: nothing was measured there. Sampling slows down a little while
/// a load is sent; that is no gap.
const GAP_FACTOR: f64 = 5.0;

pub fn colour(platform: Side) -> RGBColor {
    match platform {
        Side::Ecs => RGBColor(31, 119, 180),
        Side::Lambda => RGBColor(255, 127, 14),
    }
}

fn label(platform: Side) -> &'static str {
    match platform {
        Side::Ecs => "ECS Fargate",
        Side::Lambda => "Lambda",
    }
}

/// What one chart shows.
pub struct Chart<'a> {
    pub title: String,
    /// In legend order.
    pub platforms: &'a [Side],
    /// The measured samples (or the model's, for `simulate`), drawn solid.
    pub samples: &'a [Sample],
    /// When the load ran, in seconds since the start: a shaded band, or a triangle for a burst.
    pub load: Option<(f64, f64)>,
    /// The model's samples for the same load (`compare` beside `simulate`), drawn dashed in the
    /// platform's colour until a little after its queues drain; empty for none.
    pub predicted: &'a [Sample],
    /// Why the samples' worker counts are not the workers' (an emulator's, where local
    /// stand-ins did the work): then no measured worker line is drawn and the legend says why.
    pub workers_not_measured: Option<&'a str>,
    /// Why a platform has no measured line, in its legend entry: [`SEE_NOTES`] for `compare`'s
    /// files.
    pub no_data: &'a str,
}

/// Where `compare`'s and `simulate`'s files say why a figure is missing.
pub const SEE_NOTES: &str = "see samples.csv notes";

/// Contiguous runs of known points: a gap in the data is a gap in the line, not a made-up
/// straight segment. A sample without the figure is a gap, and so, with `gaps`, is a pause
/// between samples over [`GAP_FACTOR`] times the usual one. A known 0 is a point at 0.
fn runs(
    samples: &[&Sample],
    value: impl Fn(&Sample) -> Option<u64>,
    gaps: bool,
) -> Vec<Vec<(f64, f64)>> {
    let limit = if gaps {
        usual_step(samples).map(|step| step * GAP_FACTOR)
    } else {
        None
    };
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    let mut last: Option<f64> = None;
    for s in samples {
        let paused = matches!((limit, last), (Some(limit), Some(t)) if s.elapsed_s - t > limit);
        last = Some(s.elapsed_s);
        if paused && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        match value(s) {
            Some(v) => current.push((s.elapsed_s, v as f64)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The usual time between two samples: the (lower) median step, with at least two steps.
fn usual_step(samples: &[&Sample]) -> Option<f64> {
    let mut steps: Vec<f64> = samples
        .windows(2)
        .map(|w| w[1].elapsed_s - w[0].elapsed_s)
        .filter(|d| *d > 0.0)
        .collect();
    if steps.len() < 2 {
        return None;
    }
    steps.sort_by(f64::total_cmp);
    Some(steps[(steps.len() - 1) / 2])
}

/// How a legend entry's swatch looks: the same mark as what it names in the plot.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mark {
    Line(RGBColor),
    Dashed(RGBColor),
    /// A platform with no line: a faint stroke beside "no data".
    Faint(RGBColor),
    Band,
    Burst,
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    mark: Mark,
    label: String,
}

/// Marks the prediction's lines while drawing: no measured line is this wide. Plotters' SVG
/// backend writes no dash pattern, so these polylines get `stroke-dasharray` afterwards.
const PREDICTED_WIDTH: u32 = 3;
const DASHED: &str = "stroke-width=\"2\" stroke-dasharray=\"9 5\"";

/// Draws the chart into `path`.
pub fn write(path: &Path, chart: &Chart) -> Result<(), String> {
    let svg = render(chart).map_err(|e| format!("drawing {}: {e}", path.display()))?;
    std::fs::write(path, svg).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The chart as SVG text.
pub fn render(chart: &Chart) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, chart).map_err(|e| e.to_string())?;
    let marker = format!("stroke-width=\"{PREDICTED_WIDTH}\"");
    Ok(svg.replace(&marker, DASHED))
}

type Panel = (&'static str, &'static str, fn(&Sample) -> Option<u64>, bool);

fn draw(
    svg: &mut String,
    c: &Chart,
) -> Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&c.title, ("sans-serif", TITLE))?;
    let (top, bottom) = root.split_vertically((HEIGHT - 40) / 2);
    let measured_end = c.samples.iter().map(|s| s.elapsed_s).fold(1.0, f64::max);
    let predicted_busy = c
        .predicted
        .iter()
        .filter(|s| s.depth().is_some_and(|d| d > 0))
        .map(|s| s.elapsed_s)
        .fold(0.0, f64::max);
    let x_max = if c.predicted.is_empty() {
        measured_end
    } else {
        measured_end.max(predicted_busy * 1.2 + 10.0)
    };
    let predicted: Vec<&Sample> = c
        .predicted
        .iter()
        .filter(|s| s.elapsed_s <= x_max)
        .collect();
    let panels: [(&DrawingArea<_, Shift>, Panel); 2] = [
        (
            &top,
            (
                "Queue depth (visible + in flight + delayed)",
                "messages",
                |s: &Sample| s.depth(),
                false,
            ),
        ),
        (
            &bottom,
            (
                "Workers (ECS running tasks, Lambda concurrent executions)",
                "workers",
                |s: &Sample| s.workers,
                true,
            ),
        ),
    ];
    for (area, (caption, unit, value, workers)) in panels {
        let (plot, legend) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
        let not_measured = if workers {
            c.workers_not_measured
        } else {
            None
        };
        let measured = |s: &Sample| {
            if not_measured.is_some() {
                None
            } else {
                value(s)
            }
        };
        // Whole numbers on the y axis: messages and workers come in ones.
        let y_max = (c
            .samples
            .iter()
            .filter_map(measured)
            .chain(predicted.iter().copied().filter_map(value))
            .max()
            .unwrap_or(0)
            .max(4) as f64
            * 1.1)
            .ceil();
        let mut chart = ChartBuilder::on(&plot)
            .caption(caption, ("sans-serif", CAPTION))
            .margin(12)
            .margin_right(16)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
        let x_decimals = if x_max < 10.0 { 1 } else { 0 };
        chart
            .configure_mesh()
            .x_desc("seconds since the start")
            .y_desc(unit)
            .y_labels(y_max.min(10.0) as usize + 1)
            .x_label_formatter(&|x| format!("{x:.x_decimals$}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", TEXT))
            .axis_desc_style(("sans-serif", TEXT))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let mut entries = Vec::new();
        if let Some((from, to)) = c.load {
            if to - from >= x_max * BURST_SHARE {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(from, 0.0), (to, y_max)],
                    LOAD_SHADE.mix(LOAD_OPACITY).filled(),
                )))?;
                entries.push(Entry {
                    mark: Mark::Band,
                    label: "load sent".into(),
                });
            } else {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((from, y_max)) + burst_triangle(),
                ))?;
                entries.push(Entry {
                    mark: Mark::Burst,
                    label: format!("load sent: a burst at {from:.1} s"),
                });
            }
        }
        for &platform in c.platforms {
            let of_platform: Vec<&Sample> = c
                .samples
                .iter()
                .filter(|s| s.platform == platform)
                .collect();
            let colour = colour(platform);
            let lines = runs(&of_platform, measured, true);
            if lines.is_empty() {
                // Said in the legend, so a missing line is never read as zero.
                let why = not_measured.unwrap_or(c.no_data);
                entries.push(Entry {
                    mark: Mark::Faint(colour),
                    label: format!("{}: no data ({why})", label(platform)),
                });
                continue;
            }
            draw_runs(&mut chart, lines, colour.stroke_width(2))?;
            entries.push(Entry {
                mark: Mark::Line(colour),
                label: label(platform).into(),
            });
        }
        for &platform in c.platforms {
            let of_platform: Vec<&Sample> = predicted
                .iter()
                .copied()
                .filter(|s| s.platform == platform)
                .collect();
            let colour = colour(platform);
            let lines = runs(&of_platform, value, false);
            if lines.is_empty() {
                continue;
            }
            draw_runs(&mut chart, lines, colour.stroke_width(PREDICTED_WIDTH))?;
            entries.push(Entry {
                mark: Mark::Dashed(colour),
                label: format!("{}: predicted (dashed)", label(platform)),
            });
        }
        draw_legend(&legend, &entries)?;
    }
    root.present()?;
    Ok(())
}

/// The burst's mark, a triangle above the plot pointing down at the burst's time.
fn burst_triangle() -> Polygon<(i32, i32)> {
    Polygon::new(vec![(-7, -14), (7, -14), (0, -2)], BURST.filled())
}

/// Draws each run: a line, or a dot for a run of one sample (a line of one point is not seen).
fn draw_runs<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    lines: Vec<Vec<(f64, f64)>>,
    style: ShapeStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for line in lines {
        if let [point] = line[..] {
            chart.draw_series(std::iter::once(Circle::new(point, 3, style.color.filled())))?;
        } else {
            chart.draw_series(LineSeries::new(line, style))?;
        }
    }
    Ok(())
}

/// Splits `text` into lines of at most [`LEGEND_CHARS`] characters, at spaces.
fn wrap(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= LEGEND_CHARS => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// The legend box's top, in the panel: level with the top of the plot.
const LEGEND_TOP: i32 = 40;

/// Draws the legend in its column: a box with a swatch and a label per entry.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    if entries.is_empty() {
        return Ok(());
    }
    let lines: Vec<(Option<Mark>, String)> = entries
        .iter()
        .flat_map(|e| {
            wrap(&e.label)
                .into_iter()
                .enumerate()
                .map(move |(i, l)| ((i == 0).then_some(e.mark), l))
        })
        .collect();
    let (x0, x1) = (4, LEGEND_WIDTH as i32 - 8);
    let y0 = LEGEND_TOP;
    let y1 = y0 + 8 + lines.len() as i32 * LEGEND_LINE + 6;
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], WHITE.filled()))?;
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], LEGEND_BORDER))?;
    let font = TextStyle::from(("sans-serif", TEXT)).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (mark, text)) in lines.iter().enumerate() {
        let y = y0 + 8 + i as i32 * LEGEND_LINE + LEGEND_LINE / 2;
        let x = x0 + 10;
        match mark {
            Some(Mark::Line(c)) => area.draw(&PathElement::new(
                vec![(x, y), (x + 24, y)],
                c.stroke_width(2),
            ))?,
            Some(Mark::Dashed(c)) => area.draw(&PathElement::new(
                vec![(x, y), (x + 24, y)],
                c.stroke_width(PREDICTED_WIDTH),
            ))?,
            Some(Mark::Faint(c)) => area.draw(&PathElement::new(
                vec![(x, y), (x + 24, y)],
                c.mix(0.3).stroke_width(2),
            ))?,
            Some(Mark::Band) => area.draw(&Rectangle::new(
                [(x, y - 6), (x + 24, y + 6)],
                LOAD_SHADE.mix(LOAD_OPACITY).filled(),
            ))?,
            Some(Mark::Burst) => {
                area.draw(&(EmptyElement::at((x + 12, y + 8)) + burst_triangle()))?
            }
            None => {}
        }
        area.draw(&Text::new(text.clone(), (x + 34, y), font.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(platform: Side, elapsed_s: f64, workers: Option<u64>) -> Sample {
        Sample {
            elapsed_s,
            platform,
            visible: Some(10),
            in_flight: Some(0),
            delayed: Some(0),
            workers,
            ..Default::default()
        }
    }

    fn points(samples: &[Sample], gaps: bool) -> Vec<Vec<(f64, f64)>> {
        let refs: Vec<&Sample> = samples.iter().collect();
        runs(&refs, |s| s.workers, gaps)
    }

    #[test]
    fn an_unknown_figure_and_a_pause_in_sampling_are_gaps_and_a_known_zero_is_drawn() {
        let ecs = |t, w| sample(Side::Ecs, t, w);
        // Every second, a sample without the figure at 3 s, a 20 s pause after 5 s, zeros after.
        let samples = [
            ecs(0.0, Some(1)),
            ecs(1.0, Some(2)),
            ecs(2.0, Some(2)),
            ecs(3.0, None),
            ecs(4.0, Some(2)),
            ecs(5.0, Some(0)),
            ecs(25.0, Some(0)),
            ecs(26.0, Some(0)),
        ];
        assert_eq!(
            points(&samples, true),
            [
                vec![(0.0, 1.0), (1.0, 2.0), (2.0, 2.0)],
                vec![(4.0, 2.0), (5.0, 0.0)],
                vec![(25.0, 0.0), (26.0, 0.0)],
            ]
        );
        // The model's samples come every tick: no pause to break on.
        assert_eq!(points(&samples, false).len(), 2);
        // Too few steps to know the usual one: only unknown figures break the line.
        assert_eq!(
            points(&[ecs(0.0, Some(0)), ecs(60.0, Some(0))], true),
            [vec![(0.0, 0.0), (60.0, 0.0)]]
        );
    }

    #[test]
    fn legend_lines_wrap_at_spaces() {
        assert_eq!(
            wrap("ECS Fargate: no data (an emulator: local stand-ins did the work)"),
            [
                "ECS Fargate: no data (an emulator:",
                "local stand-ins did the work)"
            ]
        );
        assert_eq!(wrap("Lambda"), ["Lambda"]);
    }

    /// `(x, y)` pairs of a `points` attribute.
    fn parse_points(p: &str) -> Vec<(f64, f64)> {
        p.split_whitespace()
            .filter_map(|xy| {
                let (x, y) = xy.split_once(',')?;
                Some((x.parse().ok()?, y.parse().ok()?))
            })
            .collect()
    }

    fn num(n: roxmltree::Node, a: &str) -> f64 {
        n.attribute(a).unwrap().parse().unwrap()
    }

    /// A compare-like chart: a measured run with a pause, a burst at the start, the prediction.
    fn rendered(load: (f64, f64), workers_not_measured: Option<&str>) -> String {
        let mut samples = Vec::new();
        let mut predicted = Vec::new();
        for t in 0..120 {
            let t = f64::from(t);
            let busy = |until: f64| if t < until { 1 } else { 0 };
            for (p, until) in [(Side::Ecs, 60.0), (Side::Lambda, 100.0)] {
                if !(20.0..40.0).contains(&t) {
                    let mut s = sample(p, t, Some(busy(until)));
                    s.visible = Some(((until - t).max(0.0) * 5.0) as u64);
                    samples.push(s);
                }
                // The prediction drops and climbs, right where a legend in the plot would be.
                let mut s = sample(p, t, Some(if t < 30.0 { 0 } else { 3 }));
                s.visible = Some(if t < 10.0 { 500 } else { 0 });
                predicted.push(s);
            }
        }
        render(&Chart {
            title: "test".into(),
            platforms: &Side::BOTH,
            samples: &samples,
            load: Some(load),
            predicted: &predicted,
            workers_not_measured,
            no_data: SEE_NOTES,
        })
        .unwrap()
    }

    #[test]
    fn the_legends_stand_beside_the_plots_and_the_text_is_legible() {
        let svg = rendered((0.3, 1.0), None);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let boxes: Vec<_> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "rect" && n.attribute("stroke") == Some("#404040"))
            .map(|n| {
                let (x, y) = (num(n, "x"), num(n, "y"));
                (x, y, x + num(n, "width"), y + num(n, "height"))
            })
            .collect();
        assert_eq!(boxes.len(), 2, "a legend per panel: {svg}");
        let series = ["#1F77B4", "#FF7F0E"];
        let mut drawn = 0;
        for n in doc.descendants().filter(|n| {
            n.tag_name().name() == "polyline"
                && series.contains(&n.attribute("stroke").unwrap_or(""))
        }) {
            let pts = parse_points(n.attribute("points").unwrap());
            let inside = |(x, y): (f64, f64), b: &(f64, f64, f64, f64)| {
                x >= b.0 && x <= b.2 && y >= b.1 && y <= b.3
            };
            // A swatch lies wholly in a legend box; a plotted line wholly left of both.
            if boxes.iter().any(|b| pts.iter().all(|p| inside(*p, b))) {
                continue;
            }
            drawn += 1;
            for p in &pts {
                assert!(
                    boxes.iter().all(|b| p.0 < b.0),
                    "a plotted point {p:?} reaches a legend box {boxes:?}"
                );
            }
        }
        assert!(drawn >= 8, "measured and predicted lines in both panels");
        for t in doc.descendants().filter(|n| n.tag_name().name() == "text") {
            let size = num(t, "font-size");
            assert!(size >= 12.0, "text at {size} px: {:?}", t.text());
        }
    }

    #[test]
    fn a_burst_is_a_triangle_in_the_plot_and_in_the_legend_and_a_longer_load_a_band() {
        let triangles = |svg: &str| {
            roxmltree::Document::parse(svg)
                .unwrap()
                .descendants()
                .filter(|n| {
                    n.tag_name().name() == "polygon" && n.attribute("fill") == Some("#5A5A5A")
                })
                .count()
        };
        let burst = rendered((0.3, 1.0), None);
        assert_eq!(
            triangles(&burst),
            4,
            "one at the burst and one in the legend, per panel"
        );
        assert!(burst.contains("load sent: a burst at 0.3 s"));
        let band = rendered((0.3, 30.0), None);
        assert_eq!(triangles(&band), 0);
        assert!(band.contains("load sent"));
    }

    #[test]
    fn worker_counts_that_are_not_the_workers_are_not_drawn_and_the_legend_says_why() {
        let svg = rendered((0.3, 1.0), Some("an emulator's count"));
        let doc = roxmltree::Document::parse(&svg).unwrap();
        // The lower panel starts at half the height: no solid series line there but swatches.
        let solid_lower = doc
            .descendants()
            .filter(|n| {
                n.tag_name().name() == "polyline"
                    && n.attribute("stroke-dasharray").is_none()
                    && ["#1F77B4", "#FF7F0E"].contains(&n.attribute("stroke").unwrap_or(""))
            })
            .map(|n| parse_points(n.attribute("points").unwrap()))
            .filter(|pts| pts.iter().all(|p| p.1 > f64::from(HEIGHT) / 2.0))
            .filter(|pts| pts.len() > 2 || pts[0].0 < f64::from(WIDTH - LEGEND_WIDTH))
            .count();
        assert_eq!(solid_lower, 0, "{svg}");
        assert!(svg.contains("ECS Fargate: no data (an"));
        assert!(svg.contains("Lambda: no data (an"));
        // The depth panel still has its measured lines.
        assert!(!rendered((0.3, 1.0), None).contains("no data"));
    }
}
