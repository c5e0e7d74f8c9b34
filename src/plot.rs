//! Small self-contained SVG plots for reports: no plotting library, no fonts to install.

use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;
const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0).max(f64::MIN_POSITIVE)
            * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT
            - BOTTOM
            - (y - self.y.0) / (self.y.1 - self.y.0).max(f64::MIN_POSITIVE)
                * (HEIGHT - TOP - BOTTOM)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn header(
    svg: &mut String,
    frame: &Frame,
    title: &str,
    x_label: &str,
    y_label: &str,
    tick: fn(f64) -> String,
) {
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    let (x0, x1, y0, y1) = (
        frame.px(frame.x.0),
        frame.px(frame.x.1),
        frame.py(frame.y.0),
        frame.py(frame.y.1),
    );
    let _ = write!(
        svg,
        r#"<path d="M{x0},{y1} L{x0},{y0} L{x1},{y0}" stroke="black" fill="none"/>"#
    );
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let xv = frame.x.0 + f * (frame.x.1 - frame.x.0);
        let yv = frame.y.0 + f * (frame.y.1 - frame.y.0);
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            frame.px(xv),
            y0 + 18.0,
            tick(xv),
            x0 - 6.0,
            frame.py(yv) + 4.0,
            tick(yv)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text transform="translate(16,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        HEIGHT - 12.0,
        escape(x_label),
        (y0 + y1) / 2.0,
        escape(y_label)
    );
}

fn legend(svg: &mut String, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        let y = TOP + 8.0 + 16.0 * i as f64;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            WIDTH - RIGHT - 150.0,
            y - 9.0,
            COLOURS[i % COLOURS.len()],
            WIDTH - RIGHT - 135.0,
            y,
            escape(name)
        );
    }
}

fn plain(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// Three decimals below 100: ticks of a narrow fitted range stay distinct.
fn fine(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn power_of_ten(v: f64) -> String {
    format!("1e{v:.1}")
}

/// Scatter of `(x, y)` points on log10 axes with the y = x diagonal: k-mer frequencies of
/// generated versus reference sequences.
pub fn scatter_log_svg(points: &[(f64, f64)], title: &str, x_label: &str, y_label: &str) -> String {
    let floor = points
        .iter()
        .flat_map(|&(x, y)| [x, y])
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min)
        .min(1.0);
    let log = |v: f64| v.max(floor).log10();
    let low = log(floor);
    let high = points
        .iter()
        .flat_map(|&(x, y)| [log(x), log(y)])
        .fold(low + 1e-9, f64::max);
    let frame = Frame {
        x: (low, high),
        y: (low, high),
    };
    let mut svg = String::new();
    header(&mut svg, &frame, title, x_label, y_label, power_of_ten);
    let _ = write!(
        svg,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4"/>"##,
        frame.px(low),
        frame.py(low),
        frame.px(high),
        frame.py(high)
    );
    for &(x, y) in points {
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{}" fill-opacity="0.5"/>"#,
            frame.px(log(x)),
            frame.py(log(y)),
            COLOURS[0]
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Labelled points on linear axes fitted to them (a sweep's settings): each point a dot with
/// its label beside it; the last point, the one to reach, drawn as a red square.
pub fn labelled_points_svg(
    points: &[(f64, f64, &str)],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> String {
    let series = [(
        "",
        points.iter().map(|&(x, y, _)| (x, y)).collect::<Vec<_>>(),
    )];
    let (x, y) = extent(&[(series[0].0, series[0].1.as_slice())]);
    let pad = |(low, high): (f64, f64)| {
        let margin = ((high - low) * 0.08).max(1e-6);
        (low - margin, high + margin)
    };
    let frame = Frame {
        x: pad(x),
        y: pad(y),
    };
    let mut svg = String::new();
    header(&mut svg, &frame, title, x_label, y_label, fine);
    for (i, &(x, y, label)) in points.iter().enumerate() {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let (px, py) = (frame.px(x), frame.py(y));
        if i + 1 == points.len() {
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{}"/>"#,
                px - 4.0,
                py - 4.0,
                COLOURS[1]
            );
        } else {
            let _ = write!(
                svg,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="4" fill="{}"/>"#,
                COLOURS[0]
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
            px + 6.0,
            py - 4.0,
            escape(label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Overlaid histograms (as step outlines of densities) of several named samples.
pub fn histogram_svg(series: &[(&str, &[f64])], bins: usize, title: &str, x_label: &str) -> String {
    let values = series.iter().flat_map(|(_, v)| v.iter().copied());
    let (mut low, mut high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !low.is_finite() {
        (low, high) = (0.0, 1.0);
    }
    if high <= low {
        (low, high) = (low - 0.5, high + 0.5);
    }
    let bins = bins.max(1);
    let width = (high - low) / bins as f64;
    let densities: Vec<Vec<f64>> = series
        .iter()
        .map(|(_, v)| {
            let mut counts = vec![0.0; bins];
            for &x in v.iter() {
                counts[(((x - low) / width) as usize).min(bins - 1)] += 1.0;
            }
            counts.iter().map(|c| c / v.len().max(1) as f64).collect()
        })
        .collect();
    let top = densities
        .iter()
        .flatten()
        .fold(0.0f64, |a, &b| a.max(b))
        .max(1e-9)
        * 1.1;
    let frame = Frame {
        x: (low, high),
        y: (0.0, top),
    };
    let mut svg = String::new();
    header(&mut svg, &frame, title, x_label, "fraction", plain);
    for (i, density) in densities.iter().enumerate() {
        let mut path = format!("M{:.1},{:.1}", frame.px(low), frame.py(0.0));
        for (b, d) in density.iter().enumerate() {
            let (x0, x1) = (low + b as f64 * width, low + (b + 1) as f64 * width);
            let _ = write!(
                path,
                " L{:.1},{:.1} L{:.1},{:.1}",
                frame.px(x0),
                frame.py(*d),
                frame.px(x1),
                frame.py(*d)
            );
        }
        let _ = write!(path, " L{:.1},{:.1}", frame.px(high), frame.py(0.0));
        let _ = write!(
            svg,
            r#"<path d="{path}" stroke="{}" stroke-width="2" fill="none"/>"#,
            COLOURS[i % COLOURS.len()]
        );
    }
    legend(&mut svg, &series.iter().map(|s| s.0).collect::<Vec<_>>());
    svg.push_str("</svg>\n");
    svg
}

/// Lines of `y` over `x` for several named series (e.g. motif hits per position), y from 0.
pub fn lines_svg(
    series: &[(&str, &[(f64, f64)])],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> String {
    let (x, (_, y_high)) = extent(series);
    let frame = Frame {
        x,
        y: (0.0, y_high.max(1e-9) * 1.1),
    };
    draw_lines(series, &frame, title, x_label, y_label, plain)
}

/// Lines with the y axis fitted to the data (loss curves, where the interesting part is a
/// narrow band far from 0).
pub fn curves_svg(
    series: &[(&str, &[(f64, f64)])],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> String {
    let (x, (y_low, y_high)) = extent(series);
    let margin = ((y_high - y_low) * 0.05).max(1e-6);
    let frame = Frame {
        x,
        y: (y_low - margin, y_high + margin),
    };
    draw_lines(series, &frame, title, x_label, y_label, fine)
}

/// x range and y range of the finite points.
fn extent(series: &[(&str, &[(f64, f64)])]) -> ((f64, f64), (f64, f64)) {
    let points = series
        .iter()
        .flat_map(|(_, p)| p.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x_low, mut x_high) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut y_low, mut y_high) = (f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in points {
        x_low = x_low.min(x);
        x_high = x_high.max(x);
        y_low = y_low.min(y);
        y_high = y_high.max(y);
    }
    if !x_low.is_finite() || x_high <= x_low {
        (x_low, x_high) = (0.0, 1.0);
    }
    if !y_low.is_finite() {
        (y_low, y_high) = (0.0, 1.0);
    }
    ((x_low, x_high), (y_low, y_high))
}

fn draw_lines(
    series: &[(&str, &[(f64, f64)])],
    frame: &Frame,
    title: &str,
    x_label: &str,
    y_label: &str,
    tick: fn(f64) -> String,
) -> String {
    let mut svg = String::new();
    header(&mut svg, frame, title, x_label, y_label, tick);
    for (i, (_, points)) in series.iter().enumerate() {
        let path: Vec<String> = points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .enumerate()
            .map(|(j, &(x, y))| {
                format!(
                    "{}{:.1},{:.1}",
                    if j == 0 { "M" } else { "L" },
                    frame.px(x),
                    frame.py(y)
                )
            })
            .collect();
        let _ = write!(
            svg,
            r#"<path d="{}" stroke="{}" stroke-width="1.5" fill="none"/>"#,
            path.join(" "),
            COLOURS[i % COLOURS.len()]
        );
    }
    legend(&mut svg, &series.iter().map(|s| s.0).collect::<Vec<_>>());
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_well_formed_svg_with_every_point() {
        let svg = scatter_log_svg(
            &[(0.1, 0.2), (0.01, 0.0), (0.5, 0.4)],
            "k=2",
            "reference",
            "generated",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<circle").count(), 3);
        let svg = histogram_svg(
            &[("a", &[1.0, 2.0, 2.0]), ("b & c", &[3.0])],
            4,
            "lengths",
            "tokens",
        );
        assert_eq!(svg.matches("<path").count(), 3, "axes + two series");
        assert!(svg.contains("b &amp; c"));
        let svg = lines_svg(
            &[("hits", &[(0.0, 1.0), (1.0, 3.0)])],
            "profile",
            "position",
            "hits",
        );
        assert!(svg.contains("M70.0,"));
        // Fitted axis: the lowest point sits near the bottom, not at a quarter height.
        let svg = curves_svg(
            &[("valid", &[(0.0, 1.99), (1.0, 1.93)])],
            "loss",
            "step",
            "bits",
        );
        assert!(svg.contains("M70.0,54.8 L620.0,350.2"), "{svg}");
        assert!(svg.contains(">1.927<") && svg.contains(">1.993<"), "{svg}");
    }
}
