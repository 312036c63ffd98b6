//! Pictures of a finished sweep, written as files (`plot`) or kept as SVG text (the HTML report): each chosen model's log density with the test points and its samples (beside the true density where known), the learning curves, the test log-likelihood of the best run (by `valid_ll`) over every pair of grid axes, and every data set's best model beside its true density in one picture (`best`).

use super::summary::{Ranked, describe};
use crate::data::{Dataset, Generator};
use crate::estimate::log_z_grid;
use crate::model::Grbm;
use crate::sweep::folder::Folder;
use crate::sweep::halving::{Decision, RungRow};
use crate::sweep::record::{RunRecord, best_runs, ranking};
use crate::train::params::ParamValue;
use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The font every picture is drawn with, compiled in: text renders without any system font.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// What `grbm-sweep plot` draws.
#[derive(Debug, Clone, Default)]
pub struct PlotOptions {
    /// Best runs of each data set, by `valid_ll`, to draw densities for (when `runs` is empty).
    pub top: usize,
    /// Whether the best are configurations (by their mean over seeds) or single runs.
    pub ranked: Ranked,
    /// Run ids to draw densities for, instead of the best ones.
    pub runs: Vec<String>,
    /// Write an SVG beside every PNG.
    pub svg: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{dir} has no finished runs to plot; run the sweep first")]
    NoResults { dir: PathBuf },
    #[error("{dir} has no finished run with id {id}")]
    UnknownRun { dir: PathBuf, id: String },
    #[error("cannot draw {path}: {message}")]
    Draw { path: PathBuf, message: String },
}

/// Pixel sizes of the pictures.
pub const DENSITY_SIZE: (u32, u32) = (1200, 560);
pub const DENSITY_SIZE_ALONE: (u32, u32) = (640, 560);
pub const CURVES_SIZE: (u32, u32) = (900, 560);
pub const GRID_SIZE: (u32, u32) = (720, 560);
/// Pixel size of one data set's pair of panels in `best`, and of the title above them and the key below.
pub const BEST_PAIR_SIZE: (u32, u32) = (600, 330);
const BEST_TITLE: u32 = 44;
const BEST_FOOTER: u32 = 44;
/// The parameters a density's title names when the experiment sweeps nothing.
const TITLE_KEYS: [&str; 5] = ["hidden", "lr", "k", "sampler", "seed"];
/// Raster cells per axis of a density heat map.
const RASTER: usize = 140;
/// Raster cells per axis of the small heat maps of `best`.
const SMALL_RASTER: usize = 80;
/// Heat maps show log densities down to this many nats below their maximum.
const LOG_DENSITY_RANGE: f64 = 12.0;

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;
/// A chart with numeric axes, as the curves and grid pictures draw on.
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Where the pictures go: files in a folder (`plot`), or SVG text kept in memory (the HTML report).
enum Pictures {
    /// PNG files (and SVG beside them when `svg`) in `out`, and the files written there so far.
    Files {
        out: PathBuf,
        svg: bool,
        written: Vec<PathBuf>,
    },
    /// Each picture's name (the file stem `plot` would write) and the picture, drawn in memory.
    Inline(Vec<(String, Inline)>),
}

/// A picture drawn in memory for a page.
pub enum Inline {
    Svg(String),
    /// A PNG file's bytes: for a picture whose SVG would be larger than [`INLINE_SVG_LIMIT`].
    Png(Vec<u8>),
}

/// The largest SVG a page inlines. A density heat map is thousands of cells (a few megabytes as
/// SVG, a few hundred kilobytes as PNG): such a picture is inlined as PNG instead.
pub const INLINE_SVG_LIMIT: usize = 400_000;

/// An RGB buffer of `size` pixels as a PNG file.
fn png_bytes(rgb: &[u8], size: (u32, u32)) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(rgb, size.0, size.1, image::ColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

impl Pictures {
    /// Creates `out` if needed.
    fn in_folder(out: PathBuf, svg: bool) -> Result<Self, PlotError> {
        std::fs::create_dir_all(&out).map_err(|e| PlotError::Draw {
            path: out.clone(),
            message: e.to_string(),
        })?;
        Ok(Self::Files {
            out,
            svg,
            written: Vec::new(),
        })
    }
}

/// Draws `$figure(&root, args...)` as picture `$name`: to `$name.png` in the folder of
/// `Pictures::Files` (and `$name.svg` when it asks for SVG), or into memory for
/// `Pictures::Inline`. One macro, so that both destinations draw the very same figure.
macro_rules! render {
    ($pictures:expr, $name:expr, $size:expr, $figure:ident($($arg:expr),*)) => {{
        let name: String = $name.into();
        let draw_err = |path: &Path, e: &dyn std::fmt::Display| PlotError::Draw { path: path.to_path_buf(), message: e.to_string() };
        match &mut $pictures {
            Pictures::Files { out, svg: with_svg, written } => {
                let stem = out.join(&name);
                let png = stem.with_extension("png");
                {
                    let root = BitMapBackend::new(&png, $size).into_drawing_area();
                    $figure(&root, $($arg),*).map_err(|e| draw_err(&png, &e))?;
                    root.present().map_err(|e| draw_err(&png, &e))?;
                }
                written.push(png);
                if *with_svg {
                    let svg = stem.with_extension("svg");
                    {
                        let root = SVGBackend::new(&svg, $size).into_drawing_area();
                        $figure(&root, $($arg),*).map_err(|e| draw_err(&svg, &e))?;
                        root.present().map_err(|e| draw_err(&svg, &e))?;
                    }
                    written.push(svg);
                }
            }
            Pictures::Inline(drawn) => {
                let mut text = String::new();
                let at = Path::new(&name);
                {
                    let root = SVGBackend::with_string(&mut text, $size).into_drawing_area();
                    $figure(&root, $($arg),*).map_err(|e| draw_err(at, &e))?;
                    root.present().map_err(|e| draw_err(at, &e))?;
                }
                if text.len() <= INLINE_SVG_LIMIT {
                    drawn.push((name, Inline::Svg(text)));
                } else {
                    let mut rgb = vec![0u8; 3 * ($size.0 * $size.1) as usize];
                    {
                        let root = BitMapBackend::with_buffer(&mut rgb, $size).into_drawing_area();
                        $figure(&root, $($arg),*).map_err(|e| draw_err(at, &e))?;
                        root.present().map_err(|e| draw_err(at, &e))?;
                    }
                    let png = png_bytes(&rgb, $size).map_err(|e| draw_err(at, &e))?;
                    drawn.push((name, Inline::Png(png)));
                }
            }
        }
    }};
}

/// A file-name-safe form of `text`.
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the pictures under `dir/plots/` and returns their paths.
pub fn plot(folder: &Folder, dir: &Path, opts: &PlotOptions) -> Result<Vec<PathBuf>, PlotError> {
    let mut pictures = Pictures::in_folder(dir.join("plots"), opts.svg)?;
    draw_all(&mut pictures, folder, dir, opts)?;
    match pictures {
        Pictures::Files { written, .. } => Ok(written),
        Pictures::Inline(_) => unreachable!("made as files above"),
    }
}

/// The pictures `plot` would write, as (file stem, picture) pairs in the same order, drawn in
/// memory (SVG, or PNG where the SVG would be too large to inline); `dir` only names the
/// folder in errors.
pub fn inline_pictures(
    folder: &Folder,
    dir: &Path,
    opts: &PlotOptions,
) -> Result<Vec<(String, Inline)>, PlotError> {
    let mut pictures = Pictures::Inline(Vec::new());
    draw_all(&mut pictures, folder, dir, opts)?;
    match pictures {
        Pictures::Inline(drawn) => Ok(drawn),
        Pictures::Files { .. } => unreachable!("made in memory above"),
    }
}

/// Every picture of the sweep, in the order `plot` lists them.
fn draw_all(
    pictures: &mut Pictures,
    folder: &Folder,
    dir: &Path,
    opts: &PlotOptions,
) -> Result<(), PlotError> {
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    let finished = finished_runs(folder, dir)?;
    for record in chosen_runs(folder, dir, &finished, opts)? {
        draw_density(pictures, folder, record)?;
    }
    for dataset in 0..folder.datasets.len() {
        draw_dataset_summaries(pictures, folder, &finished, dataset, opts.top.max(1))?;
    }
    draw_best(pictures, folder, &finished)?;
    for dataset in 0..folder.datasets.len() {
        draw_rungs(pictures, folder, dataset)?;
    }
    Ok(())
}

/// The runs with an evaluation (a test and a validation log-likelihood); there must be at least one.
fn finished_runs<'a>(folder: &'a Folder, dir: &Path) -> Result<Vec<&'a RunRecord>, PlotError> {
    let finished: Vec<&RunRecord> = folder
        .records
        .iter()
        .filter(|r| r.test_ll().is_some())
        .collect();
    if finished.is_empty() {
        return Err(PlotError::NoResults {
            dir: dir.to_path_buf(),
        });
    }
    Ok(finished)
}

/// The runs to draw densities for: those named in `opts.runs`, else the best `opts.top` of each
/// data set by `valid_ll`.
fn chosen_runs<'a>(
    folder: &Folder,
    dir: &Path,
    finished: &[&'a RunRecord],
    opts: &PlotOptions,
) -> Result<Vec<&'a RunRecord>, PlotError> {
    if opts.runs.is_empty() {
        return Ok((0..folder.datasets.len())
            .flat_map(|d| best(finished, d, opts.top))
            .collect());
    }
    opts.runs
        .iter()
        .map(|id| {
            finished
                .iter()
                .find(|r| &r.spec.run_id == id)
                .copied()
                .ok_or_else(|| PlotError::UnknownRun {
                    dir: dir.to_path_buf(),
                    id: id.clone(),
                })
        })
        .collect()
}

/// `density-<run id>`: the run's density, beside the true one when that is known.
fn draw_density(
    pictures: &mut Pictures,
    folder: &Folder,
    record: &RunRecord,
) -> Result<(), PlotError> {
    let data = &folder.datasets[record.spec.dataset];
    let truth = true_density(folder, record.spec.dataset);
    let size = if truth.is_some() {
        DENSITY_SIZE
    } else {
        DENSITY_SIZE_ALONE
    };
    let title = density_title(folder, record);
    render!(
        *pictures,
        format!("density-{}", record.spec.run_id),
        size,
        density_figure(record, data, truth.as_ref(), &title)
    );
    Ok(())
}

/// Columns and rows of pairs in `best` for `count` data sets: one pair per row up to three, then a
/// near-square grid (9 data sets: 3 x 3).
pub fn best_layout(count: usize) -> (usize, usize) {
    let columns = if count <= 3 {
        1
    } else {
        (1..)
            .find(|c| c * c >= count)
            .expect("some square holds count")
    };
    (columns, count.max(1).div_ceil(columns))
}

/// Pixel size of `best` for `count` data sets.
pub fn best_size(count: usize) -> (u32, u32) {
    let (columns, rows) = best_layout(count);
    (
        columns as u32 * BEST_PAIR_SIZE.0,
        rows as u32 * BEST_PAIR_SIZE.1 + BEST_TITLE + BEST_FOOTER,
    )
}

/// `best`: the best run (by `valid_ll`) of every data set beside its true density, one pair per data set.
fn draw_best(
    pictures: &mut Pictures,
    folder: &Folder,
    finished: &[&RunRecord],
) -> Result<(), PlotError> {
    let bests: Vec<&RunRecord> = (0..folder.datasets.len())
        .flat_map(|d| best(finished, d, 1))
        .collect();
    render!(
        *pictures,
        "best",
        best_size(bests.len()),
        best_figure(folder, &bests)
    );
    Ok(())
}

fn best_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    folder: &Folder,
    bests: &[&RunRecord],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (columns, rows) = best_layout(bests.len());
    let (body, footer) = root.split_vertically(root.dim_in_pixel().1 - BEST_FOOTER);
    let (title, grid) = body.split_vertically(BEST_TITLE);
    title.titled(
        "Best run of each data set (by valid_ll) beside its true density",
        ("sans-serif", 21),
    )?;
    for (record, area) in bests.iter().zip(grid.split_evenly((rows, columns))) {
        best_pair(&area, folder, record)?;
    }
    // Two short lines, so that a single column of pairs holds them.
    let key = [
        format!(
            "log density: dark = {LOG_DENSITY_RANGE} nats below each panel's max, yellow = max"
        ),
        "gap = true_ll - test_ll, in nats per test point".to_string(),
    ];
    for (line, text) in key.into_iter().enumerate() {
        footer.draw(&Text::new(
            text,
            (12, 4 + 19 * line as i32),
            ("sans-serif", 15),
        ))?;
    }
    Ok(())
}

/// One data set's pair: its best model's log density, and the true one (or the test points).
fn best_pair<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    folder: &Folder,
    record: &RunRecord,
) -> DrawResult<DB> {
    let data = &folder.datasets[record.spec.dataset];
    let run = record.run.as_ref().expect("plotted runs have a model");
    let model: &Grbm = &run.model;
    let log_z = log_z_grid(model, None).log_z;
    let test_ll = record.test_ll().unwrap_or(f64::NAN);
    let valid_ll = record.valid_ll().unwrap_or(f64::NAN);
    let caption = match data.true_ll {
        Some(t) => format!(
            "{}: valid_ll {valid_ll:.4}, test_ll {test_ll:.4}, true_ll {t:.4}, gap {:.4}",
            data.name,
            t - test_ll
        ),
        None => format!(
            "{}: valid_ll {valid_ll:.4}, test_ll {test_ll:.4} (true density unknown)",
            data.name
        ),
    };
    let panels = area
        .margin(6, 0, 8, 8)
        .titled(&caption, ("sans-serif", 17))?
        .split_evenly((1, 2));
    let bounds = data_bounds(data);
    let model_density = |x: [f64; 2]| -model.free_energy(x) - log_z;
    let model_caption = format!("model {}", record.spec.run_id);
    density_panel(
        &panels[0],
        &model_caption,
        bounds,
        Some(&model_density),
        &[],
        SMALL_PANEL,
    )?;
    match true_density(folder, record.spec.dataset) {
        Some(truth) => {
            let truth_density = |x: [f64; 2]| truth.log_density(x).unwrap_or(f64::NEG_INFINITY);
            density_panel(
                &panels[1],
                "true density",
                bounds,
                Some(&truth_density),
                &[],
                SMALL_PANEL,
            )
        }
        None => {
            let points: [(&[[f64; 2]], RGBAColor); 1] = [(&data.test, BLACK.mix(0.6))];
            density_panel(
                &panels[1],
                "test points",
                bounds,
                None,
                &points,
                SMALL_PANEL,
            )
        }
    }
}

/// The generator of data set `dataset`, if it was generated by one whose density is known.
fn true_density(folder: &Folder, dataset: usize) -> Option<Generator> {
    let data = &folder.datasets[dataset];
    folder.experiment.data.sources[dataset]
        .kind
        .eq(&crate::data::SourceKind::Generator)
        .then(|| Generator::by_name(&data.name))
        .flatten()
        .filter(|g| g.log_density([0.0, 0.0]).is_some())
}

/// "run <id>: <parameters>", naming the swept parameters, or the main ones when nothing is swept.
fn density_title(folder: &Folder, record: &RunRecord) -> String {
    let swept: Vec<&str> = folder.experiment.grid.iter().map(|a| a.key).collect();
    let keys = if swept.is_empty() {
        TITLE_KEYS.to_vec()
    } else {
        swept
    };
    format!(
        "run {}: {}",
        record.spec.run_id,
        describe(&folder.experiment, &record.spec, &keys)
    )
}

/// `curves` and a `grid-<a>-<b>` for every pair of grid axes, for data set `dataset`.
fn draw_dataset_summaries(
    pictures: &mut Pictures,
    folder: &Folder,
    finished: &[&RunRecord],
    dataset: usize,
    top: usize,
) -> Result<(), PlotError> {
    let data = &folder.datasets[dataset];
    // A lone data set keeps the plain file names.
    let suffix = if folder.datasets.len() > 1 {
        format!("-{}", slug(&data.name))
    } else {
        String::new()
    };
    let top = best(finished, dataset, top);
    let runs = runs_of(finished, dataset);
    render!(
        *pictures,
        format!("curves{suffix}"),
        CURVES_SIZE,
        curves_figure(&runs, &top, data)
    );
    let axes: Vec<&str> = folder.experiment.grid.iter().map(|a| a.key).collect();
    for a in 0..axes.len() {
        for b in a + 1..axes.len() {
            render!(
                *pictures,
                format!("grid-{}-{}{suffix}", axes[a], axes[b]),
                GRID_SIZE,
                grid_figure(&runs, axes[a], axes[b], data)
            );
        }
    }
    Ok(())
}

/// The runs of data set `dataset`, in their order in `finished`.
fn runs_of<'a>(finished: &[&'a RunRecord], dataset: usize) -> Vec<&'a RunRecord> {
    finished
        .iter()
        .filter(|r| r.spec.dataset == dataset)
        .copied()
        .collect()
}

/// The `count` best runs of data set `dataset` by `valid_ll` ([`ranking`]), among the runs trained to their end.
fn best<'a>(finished: &[&'a RunRecord], dataset: usize, count: usize) -> Vec<&'a RunRecord> {
    let mut runs = best_runs(finished.iter().copied(), dataset);
    runs.truncate(count);
    runs
}

/// The data's bounding box, padded by a tenth of its size on each side.
fn data_bounds(data: &Dataset) -> [(f64, f64); 2] {
    let mut bounds = [(f64::INFINITY, f64::NEG_INFINITY); 2];
    for p in data.train.iter().chain(&data.test) {
        for i in 0..2 {
            bounds[i] = (bounds[i].0.min(p[i]), bounds[i].1.max(p[i]));
        }
    }
    bounds.map(|(lo, hi)| {
        let pad = 0.1 * (hi - lo).max(1e-9);
        (lo - pad, hi + pad)
    })
}

fn colour(value: f64, max: f64) -> RGBColor {
    let t = if value.is_finite() {
        ((value - (max - LOG_DENSITY_RANGE)) / LOG_DENSITY_RANGE).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ViridisRGB::get_color(t)
}

/// How a density panel is laid out: the full-size panels of `density-*`, or the small ones of `best`.
#[derive(Debug, Clone, Copy)]
struct PanelStyle {
    /// Raster cells per axis of the heat map.
    raster: usize,
    caption_size: u32,
    /// Font size of the tick labels, when not plotters' default.
    tick_size: Option<u32>,
    margin: u32,
    /// Pixels under the chart for the x tick labels, and left of it for the y ones.
    label_areas: (u32, u32),
    /// Whether the axes are named ("x1 (data units)").
    axis_names: bool,
}

const FULL_PANEL: PanelStyle = PanelStyle {
    raster: RASTER,
    caption_size: 18,
    tick_size: None,
    margin: 12,
    label_areas: (40, 52),
    axis_names: true,
};
const SMALL_PANEL: PanelStyle = PanelStyle {
    raster: SMALL_RASTER,
    caption_size: 15,
    tick_size: Some(12),
    margin: 6,
    label_areas: (22, 38),
    axis_names: false,
};

/// One panel over `bounds`: a heat map of `log_density` (blank without one), with points overlaid.
fn density_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    bounds: [(f64, f64); 2],
    log_density: Option<&dyn Fn([f64; 2]) -> f64>,
    overlays: &[(&[[f64; 2]], RGBAColor)],
    style: PanelStyle,
) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", style.caption_size))
        .margin(style.margin)
        .x_label_area_size(style.label_areas.0)
        .y_label_area_size(style.label_areas.1)
        .build_cartesian_2d(bounds[0].0..bounds[0].1, bounds[1].0..bounds[1].1)?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh();
    if let Some(size) = style.tick_size {
        mesh.label_style(("sans-serif", size));
    }
    if style.axis_names {
        mesh.x_desc("x1 (data units)").y_desc("x2 (data units)");
    } else {
        mesh.x_labels(5).y_labels(5);
    }
    mesh.draw()?;
    if let Some(log_density) = log_density {
        draw_heat_map(&mut chart, bounds, log_density, style.raster)?;
    }
    for (points, colour) in overlays {
        chart.draw_series(
            points
                .iter()
                .take(3000)
                .map(|p| Circle::new((p[0], p[1]), 1, colour.filled())),
        )?;
    }
    Ok(())
}

/// `log_density` on a `raster` x `raster` grid of cells over `bounds`, coloured from its maximum down.
fn draw_heat_map<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    bounds: [(f64, f64); 2],
    log_density: &dyn Fn([f64; 2]) -> f64,
    raster: usize,
) -> DrawResult<DB> {
    let step = [
        (bounds[0].1 - bounds[0].0) / raster as f64,
        (bounds[1].1 - bounds[1].0) / raster as f64,
    ];
    let cells: Vec<(f64, f64, f64)> = (0..raster * raster)
        .map(|k| {
            let (a, b) = (k / raster, k % raster);
            let x = [
                bounds[0].0 + (a as f64 + 0.5) * step[0],
                bounds[1].0 + (b as f64 + 0.5) * step[1],
            ];
            (x[0], x[1], log_density(x))
        })
        .collect();
    let max = cells
        .iter()
        .map(|c| c.2)
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    chart.draw_series(cells.iter().map(|&(x, y, v)| {
        let half = [step[0] / 2.0, step[1] / 2.0];
        Rectangle::new(
            [(x - half[0], y - half[1]), (x + half[0], y + half[1])],
            colour(v, max).filled(),
        )
    }))?;
    Ok(())
}

fn density_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    record: &RunRecord,
    data: &Dataset,
    truth: Option<&Generator>,
    title: &str,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let run = record.run.as_ref().expect("plotted runs have a model");
    let model: &Grbm = &run.model;
    let log_z = log_z_grid(model, None).log_z;
    let e = run.evaluation.expect("plotted runs are evaluated");
    let (body, footer) = root.split_vertically(root.dim_in_pixel().1 - 30);
    let title_area = body.titled(title, ("sans-serif", 16))?;
    let panels = if truth.is_some() {
        title_area.split_evenly((1, 2))
    } else {
        vec![title_area]
    };
    let bounds = data_bounds(data);
    let model_density = |x: [f64; 2]| -model.free_energy(x) - log_z;
    let overlays: [(&[[f64; 2]], RGBAColor); 2] =
        [(&data.test, BLACK.mix(0.6)), (&run.samples, RED.mix(0.8))];
    let caption = format!(
        "model log density; valid_ll = {:.4}, test_ll = {:.4} nats",
        e.valid_ll, e.test_ll
    );
    density_panel(
        &panels[0],
        &caption,
        bounds,
        Some(&model_density),
        &overlays,
        FULL_PANEL,
    )?;
    if let (Some(truth), Some(panel)) = (truth, panels.get(1)) {
        let caption = format!(
            "true log density; true_ll = {:.4} nats",
            data.true_ll.unwrap_or(f64::NAN)
        );
        let truth_density = |x: [f64; 2]| truth.log_density(x).unwrap_or(f64::NEG_INFINITY);
        density_panel(
            panel,
            &caption,
            bounds,
            Some(&truth_density),
            &overlays[..1],
            FULL_PANEL,
        )?;
    }
    footer.draw(&Text::new(
        format!(
            "log density: dark = {LOG_DENSITY_RANGE} nats below max, yellow = max; black: test points; red: {} samples",
            run.samples.len()
        ),
        (12, 6),
        ("sans-serif", 13),
    ))?;
    Ok(())
}

fn curves_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[&RunRecord],
    top: &[&RunRecord],
    data: &Dataset,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (epochs, test_ll) = curves_ranges(runs, top, data);
    let max_epoch = epochs.end;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("test log-likelihood during training on {}", data.name),
            ("sans-serif", 20),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(epochs, test_ll)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("epoch")
        .y_desc("test_ll (nats per point)")
        .draw()?;
    draw_run_curves(&mut chart, runs, top)?;
    if let Some(t) = data.true_ll {
        draw_true_ll(&mut chart, t, max_epoch)?;
    }
    draw_legend(&mut chart)
}

/// (epoch, test_ll) at each evaluation of a run.
fn curve_points(r: &RunRecord) -> Vec<(f64, f64)> {
    r.run.as_ref().map_or(Vec::new(), |run| {
        run.curve
            .iter()
            .map(|p| (p.epoch as f64, p.test_ll))
            .collect()
    })
}

/// The epoch and test log-likelihood ranges of the curves picture.
fn curves_ranges(
    runs: &[&RunRecord],
    top: &[&RunRecord],
    data: &Dataset,
) -> (Range<f64>, Range<f64>) {
    let max_epoch = runs
        .iter()
        .flat_map(|r| curve_points(r))
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let best_final = top.first().and_then(|r| r.test_ll()).unwrap_or(0.0);
    let upper = runs
        .iter()
        .flat_map(|r| curve_points(r))
        .map(|p| p.1)
        .chain(data.true_ll)
        .fold(f64::NEG_INFINITY, f64::max);
    // Early epochs can sit hundreds of nats below: show the range where the runs compete.
    let lower = runs
        .iter()
        .flat_map(|r| curve_points(r))
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .max(best_final - 4.0);
    let pad = 0.05 * (upper - lower).max(0.1);
    (0.0..max_epoch, (lower - pad)..(upper + pad))
}

/// Every run in thin grey, then the `top` runs (by `valid_ll`) over them in colour, with legend
/// entries giving both log-likelihoods.
fn draw_run_curves<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    runs: &[&RunRecord],
    top: &[&RunRecord],
) -> DrawResult<DB> {
    for r in runs {
        chart.draw_series(LineSeries::new(
            curve_points(r),
            RGBColor(190, 190, 190).stroke_width(1),
        ))?;
    }
    for (i, r) in top.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(curve_points(r), colour.stroke_width(2)))?
            .label(format!(
                "{} (valid {:.4}, test {:.4})",
                r.spec.run_id,
                r.valid_ll().unwrap_or(f64::NAN),
                r.test_ll().unwrap_or(f64::NAN)
            ))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    Ok(())
}

/// A black line at the true log-likelihood `t`, across every epoch.
fn draw_true_ll<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    t: f64,
    max_epoch: f64,
) -> DrawResult<DB> {
    chart
        .draw_series(LineSeries::new(
            vec![(0.0, t), (max_epoch, t)],
            BLACK.stroke_width(1),
        ))?
        .label(format!("true_ll ({t:.4})"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(1)));
    Ok(())
}

fn param(record: &RunRecord, key: &str) -> ParamValue {
    record
        .spec
        .train
        .get(key)
        .expect("grid keys are train keys")
}

/// The test log-likelihood of the best run (by `valid_ll`) of each cell of two grid axes `a` and `b`.
struct GridCells {
    /// The values of `a`, in the order the runs first show them.
    values_a: Vec<String>,
    /// The values of `b`, likewise.
    values_b: Vec<String>,
    /// `best[i][j]` is for `values_a[i]` and `values_b[j]`; minus infinity where no run is.
    best: Vec<Vec<f64>>,
}

impl GridCells {
    fn collect(runs: &[&RunRecord], a: &str, b: &str) -> Self {
        let values_a = distinct_values(runs, a);
        let values_b = distinct_values(runs, b);
        let mut best = vec![vec![f64::NEG_INFINITY; values_b.len()]; values_a.len()];
        // Worst first, so that the last run written to a cell is its best.
        let mut ranked: Vec<&RunRecord> = runs.iter().copied().filter(|r| r.selectable()).collect();
        ranked.sort_by(|x, y| ranking(y, x));
        for r in ranked {
            let i = values_a
                .iter()
                .position(|v| *v == param(r, a).to_string())
                .expect("collected above");
            let j = values_b
                .iter()
                .position(|v| *v == param(r, b).to_string())
                .expect("collected above");
            best[i][j] = r.test_ll().unwrap_or(f64::NEG_INFINITY);
        }
        Self {
            values_a,
            values_b,
            best,
        }
    }
}

/// The values of parameter `key` over `runs`, each once, in order of first appearance.
fn distinct_values(runs: &[&RunRecord], key: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for r in runs {
        let v = param(r, key).to_string();
        if !values.contains(&v) {
            values.push(v);
        }
    }
    values
}

/// The test log-likelihood of the best run (by `valid_ll`) of every cell of the (a, b) grid axes.
fn grid_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[&RunRecord],
    a: &str,
    b: &str,
    data: &Dataset,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let cells = GridCells::collect(runs, a, b);
    let (na, nb) = (cells.values_a.len(), cells.values_b.len());
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "test_ll of the best run by valid_ll (nats per point) on {} by {a} and {b}",
                data.name
            ),
            ("sans-serif", 18),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..(na as f64 - 0.5), -0.5..(nb as f64 - 0.5))?;
    // Ticks fall on every half cell; only those at cell centres are labelled.
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(na * 2 + 1)
        .y_labels(nb * 2 + 1)
        .x_label_formatter(&|v| cell_label(&cells.values_a, *v))
        .y_label_formatter(&|v| cell_label(&cells.values_b, *v))
        .x_desc(a)
        .y_desc(b)
        .draw()?;
    draw_grid_cells(&mut chart, &cells.best)
}

/// The value of the cell centred at axis position `v`, or nothing between cells.
fn cell_label(values: &[String], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() < 1e-6 && i >= 0.0 {
        values.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// Each cell as a square coloured by its value, with the value written on it.
fn draw_grid_cells<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    cells: &[Vec<f64>],
) -> DrawResult<DB> {
    let max = cells
        .iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    // Colours span the cells' own range so that the differences of the grid stand out.
    let min = cells
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let span = (max - min).max(1e-9);
    for (i, row) in cells.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let t = if v.is_finite() { (v - min) / span } else { 0.0 };
            let (x, y) = (i as f64, j as f64);
            chart.draw_series([Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                ViridisRGB::get_color(t).filled(),
            )])?;
            let text = if v.is_finite() {
                format!("{v:.3}")
            } else {
                "-".into()
            };
            // Keeps the value readable: dark ink on the light end of the colour map.
            let ink = if t > 0.6 { BLACK } else { WHITE };
            chart.draw_series([Text::new(
                text,
                (x - 0.2, y),
                ("sans-serif", 15).into_font().color(&ink),
            )])?;
        }
    }
    Ok(())
}

/// `rungs` (with the data set's name when there are several): a halving search's runs at every
/// rung they entered, valid_ll against epochs; nothing for other searches.
fn draw_rungs(pictures: &mut Pictures, folder: &Folder, dataset: usize) -> Result<(), PlotError> {
    let rows: Vec<&RungRow> = folder
        .rungs
        .iter()
        .filter(|r| r.dataset == dataset)
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let data = &folder.datasets[dataset];
    let suffix = if folder.datasets.len() > 1 {
        format!("-{}", slug(&data.name))
    } else {
        String::new()
    };
    let paths = rung_paths(folder, &rows);
    render!(
        *pictures,
        format!("rungs{suffix}"),
        CURVES_SIZE,
        rungs_figure(&paths, data)
    );
    Ok(())
}

/// One run of a halving search in the rungs picture.
struct RungPath {
    /// The run id and its swept parameters.
    label: String,
    /// (epoch, valid_ll) at each rung it entered with a finite measurement.
    points: Vec<(f64, f64)>,
    /// Went on from the first rung.
    promoted: bool,
    /// Trained to the end (not pruned, not ended early).
    finished: bool,
}

/// The runs of `rows` in grid order; the finished ones last, best final valid_ll last of all.
fn rung_paths(folder: &Folder, rows: &[&RungRow]) -> Vec<RungPath> {
    let swept: Vec<&str> = folder.experiment.grid.iter().map(|a| a.key).collect();
    let mut ids: Vec<&str> = Vec::new();
    let mut paths: Vec<RungPath> = Vec::new();
    for row in rows {
        let at = ids
            .iter()
            .position(|id| *id == row.run_id)
            .unwrap_or_else(|| {
                let spec = folder.runs.iter().find(|r| r.run_id == row.run_id);
                let params =
                    spec.map_or(String::new(), |s| describe(&folder.experiment, s, &swept));
                ids.push(&row.run_id);
                paths.push(RungPath {
                    label: format!("{} {params}", row.run_id),
                    points: Vec::new(),
                    promoted: false,
                    finished: false,
                });
                paths.len() - 1
            });
        if let Some(v) = row.valid_ll {
            paths[at].points.push((row.epoch as f64, v));
        }
        paths[at].promoted |= row.decision == Decision::Promoted;
        paths[at].finished |= row.decision == Decision::Finished;
    }
    let last = |p: &RungPath| p.points.last().map_or(f64::NEG_INFINITY, |q| q.1);
    paths.sort_by(|a, b| {
        a.finished.cmp(&b.finished).then(if a.finished {
            last(a).total_cmp(&last(b))
        } else {
            std::cmp::Ordering::Equal
        })
    });
    paths
}

/// The key of the labelled series, at the lower right, as the curves pictures place it.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
}

/// The rungs chart: epochs on a log axis, valid_ll on a linear one.
type RungChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<LogCoord<f64>, RangedCoordf64>>;

/// A line at each rung's epoch from `floor` to `top`, labelled with it (a log axis labels only
/// round numbers).
fn draw_rung_lines<DB: DrawingBackend>(
    chart: &mut RungChart<'_, DB>,
    rungs: &[f64],
    floor: f64,
    top: f64,
) -> DrawResult<DB> {
    let line = RGBColor(150, 170, 220);
    for &epoch in rungs {
        chart.draw_series(LineSeries::new(
            vec![(epoch, floor), (epoch, top)],
            line.stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{epoch:.0}"),
            (epoch, top),
            ("sans-serif", 13).into_font().color(&line),
        )))?;
    }
    Ok(())
}

/// Every run's path through the rungs, values below `floor` drawn on it: the stopped runs
/// faded, the finalists in colour with legend entries, the pick (the last) widest.
fn draw_rung_paths<DB: DrawingBackend>(
    chart: &mut RungChart<'_, DB>,
    paths: &[RungPath],
    floor: f64,
) -> DrawResult<DB> {
    let pinned = |path: &[(f64, f64)]| -> Vec<(f64, f64)> {
        path.iter().map(|&(e, v)| (e, v.max(floor))).collect()
    };
    let faded = RGBColor(200, 200, 200);
    for path in paths.iter().filter(|p| !p.finished) {
        let points = pinned(&path.points);
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 2, faded.filled())))?;
        chart.draw_series(LineSeries::new(points, faded.stroke_width(1)))?;
    }
    let finished: Vec<&RungPath> = paths.iter().filter(|p| p.finished).collect();
    for (i, path) in finished.iter().enumerate() {
        let pick = i + 1 == finished.len();
        let colour = Palette99::pick(i).to_rgba();
        let width = if pick { 3 } else { 2 };
        let last = path.points.last().map_or(f64::NAN, |p| p.1);
        let points = pinned(&path.points);
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(width)))?
            .label(format!(
                "{}: {last:.4}{}",
                path.label,
                if pick { ", the pick" } else { "" }
            ))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(width))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    Ok(())
}

fn rungs_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    paths: &[RungPath],
    data: &Dataset,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let points = |all: bool| {
        paths
            .iter()
            .filter(move |p| all || p.promoted || p.finished)
            .flat_map(|p| p.points.iter().copied())
    };
    let max_epoch = points(true).map(|p| p.0).fold(1.0, f64::max);
    let min_epoch = points(true).map(|p| p.0).fold(max_epoch, f64::min);
    let upper = points(true).map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    // The range of the runs that went on from the first rung: the first rung's stragglers, often
    // nats below, are pinned to the bottom edge instead of squashing the race.
    let lower = points(false)
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .min(upper - 0.05);
    let pad = 0.08 * (upper - lower);
    let floor = lower - pad;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("halving on {}: valid_ll at each rung", data.name),
            ("sans-serif", 20),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (min_epoch * 0.85..max_epoch * 1.15).log_scale(),
            floor..(upper + pad),
        )?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(8)
        .x_label_formatter(&|e| format!("{e:.0}"))
        .x_desc("epoch (log scale); runs below the bottom edge are drawn on it")
        .y_desc("valid_ll (nats per point)")
        .draw()?;
    let mut rungs: Vec<f64> = points(true).map(|p| p.0).collect();
    rungs.sort_by(f64::total_cmp);
    rungs.dedup();
    draw_rung_lines(&mut chart, &rungs, floor, upper + pad)?;
    draw_rung_paths(&mut chart, paths, floor)?;
    draw_legend(&mut chart)
}
