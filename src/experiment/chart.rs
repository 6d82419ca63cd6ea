//! `chart.svg`: queue depth and workers over time, both platforms on one time axis, measured
//! lines solid and a prediction's dashed (plotters).

use std::path::Path;

use plotters::prelude::*;

use crate::core::experiment::Sample;
use crate::core::side::Side;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 700;

fn colour(platform: Side) -> RGBColor {
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

/// Contiguous runs of known points: a gap in the data is a gap in the line, not a made-up
/// straight segment.
fn runs(samples: &[&Sample], value: impl Fn(&Sample) -> Option<u64>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for s in samples {
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

type Panel<'a> = (&'a str, &'a str, fn(&Sample) -> Option<u64>);

/// Marks the prediction's lines while drawing: no measured line is this wide. Plotters' SVG
/// backend writes no dash pattern, so these polylines get `stroke-dasharray` afterwards.
const PREDICTED_WIDTH: u32 = 3;
const DASHED: &str = "stroke-width=\"2\" stroke-dasharray=\"9 5\"";

/// Draws the chart. `platforms` in legend order; `load` marks when the load ran, in seconds
/// since the start; `predicted` (the model's samples for the same load, `compare` beside
/// `simulate`) is drawn dashed in the platform's colour, until a little after its queues drain.
pub fn write(
    path: &Path,
    title: &str,
    platforms: &[Side],
    samples: &[Sample],
    load: Option<(f64, f64)>,
    predicted: &[Sample],
) -> Result<(), String> {
    let mut svg = String::new();
    draw(&mut svg, path, title, platforms, samples, load, predicted)?;
    let marker = format!("stroke-width=\"{PREDICTED_WIDTH}\"");
    std::fs::write(path, svg.replace(&marker, DASHED))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

fn draw(
    svg: &mut String,
    path: &Path,
    title: &str,
    platforms: &[Side],
    samples: &[Sample],
    load: Option<(f64, f64)>,
    predicted: &[Sample],
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<_>| format!("drawing {}: {e}", path.display());
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(err)?;
    let (top, bottom) = root.split_vertically((HEIGHT - 40) / 2);
    let measured_end = samples.iter().map(|s| s.elapsed_s).fold(1.0, f64::max);
    let predicted_busy = predicted
        .iter()
        .filter(|s| s.depth().is_some_and(|d| d > 0))
        .map(|s| s.elapsed_s)
        .fold(0.0, f64::max);
    let x_max = if predicted.is_empty() {
        measured_end
    } else {
        measured_end.max(predicted_busy * 1.2 + 10.0)
    };
    let predicted: Vec<&Sample> = predicted.iter().filter(|s| s.elapsed_s <= x_max).collect();
    let panels: [(&DrawingArea<_, _>, Panel); 2] = [
        (
            &top,
            (
                "Queue depth (visible + in flight + delayed)",
                "messages",
                |s: &Sample| s.depth(),
            ),
        ),
        (
            &bottom,
            (
                "Workers (ECS running tasks, Lambda concurrent executions)",
                "workers",
                |s: &Sample| s.workers,
            ),
        ),
    ];
    for (area, (caption, unit, value)) in panels {
        // Whole numbers on the y axis: messages and workers come in ones.
        let y_max = (samples
            .iter()
            .chain(predicted.iter().copied())
            .filter_map(value)
            .max()
            .unwrap_or(0)
            .max(4) as f64
            * 1.1)
            .ceil();
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(err)?;
        let x_decimals = if x_max < 10.0 { 1 } else { 0 };
        chart
            .configure_mesh()
            .x_desc("seconds since the start")
            .y_desc(unit)
            .y_labels(y_max.min(10.0) as usize + 1)
            .x_label_formatter(&|x| format!("{x:.x_decimals$}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        if let Some((from, to)) = load {
            let shade = RGBColor(200, 200, 200).mix(0.35);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, 0.0), (to.max(from + x_max / 500.0), y_max)],
                    shade.filled(),
                )))
                .map_err(err)?
                .label("load sent")
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], shade.filled())
                });
        }
        for &platform in platforms {
            let of_platform: Vec<&Sample> =
                samples.iter().filter(|s| s.platform == platform).collect();
            let c = colour(platform);
            let lines = runs(&of_platform, value);
            if lines.is_empty() {
                // Said in the legend, so a missing line is never read as zero.
                chart
                    .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                    .map_err(err)?
                    .label(format!(
                        "{}: no data (see samples.csv notes)",
                        label(platform)
                    ))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.mix(0.3).stroke_width(2))
                    });
                continue;
            }
            for (i, line) in lines.into_iter().enumerate() {
                let series = chart
                    .draw_series(LineSeries::new(line, c.stroke_width(2)))
                    .map_err(err)?;
                if i == 0 {
                    series.label(label(platform)).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                }
            }
        }
        for &platform in platforms {
            let of_platform: Vec<&Sample> = predicted
                .iter()
                .copied()
                .filter(|s| s.platform == platform)
                .collect();
            let c = colour(platform);
            for (i, line) in runs(&of_platform, value).into_iter().enumerate() {
                let series = chart
                    .draw_series(LineSeries::new(line, c.stroke_width(PREDICTED_WIDTH)))
                    .map_err(err)?;
                if i == 0 {
                    series
                        .label(format!("{}: predicted (dashed)", label(platform)))
                        .legend(move |(x, y)| {
                            PathElement::new(
                                vec![(x, y), (x + 20, y)],
                                c.stroke_width(PREDICTED_WIDTH),
                            )
                        });
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}
