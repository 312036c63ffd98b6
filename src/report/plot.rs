//! Pictures of a finished sweep, written as files (`plot`) or kept as SVG text (the HTML report): each chosen model's log density with the test points and its exact samples (and, asked for, the states of its training sampler's chains) beside the true density where known, the learning curves, for a grid the mean test log-likelihood of each cell's best configuration (by mean `valid_ll` over its seeds) over every pair of axes but the seed, for drawn configurations each configuration's mean `valid_ll` against each swept key (slices), every data set's best model beside its true density in one picture (`best`), a halving search's rungs, and with AIS on each data set's AIS and reverse-AIS error by budget (`ais`). The best are configurations, drawn by their median seed, unless single runs are asked for (`Ranked::Runs`).

use super::summary::Ranked;
use crate::data::{Dataset, Generator};
use crate::estimate::log_z_grid;
use crate::experiment::Experiment;
use crate::experiment::grid::{AxisValues, GridAxis, RunSpec, SEED_KEY, seeds};
use crate::model::Grbm;
use crate::stats::Estimate;
use crate::sweep::configs::{
    Config, best_configs, compare_values, config_keys, configs, distinct_values, param, replicated,
};
use crate::sweep::folder::{Folder, RunIdError};
use crate::sweep::halving::{Decision, RungRow};
use crate::sweep::record::{RunDetails, RunRecord, best_runs};
use crate::train::diagnostics::Diagnostics;
use crate::train::params::{EqKey, ParamValue};
use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The font every picture is drawn with, compiled in: text renders without any system font.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// What `grbm-sweep plot` draws.
#[derive(Debug, Clone, Default)]
pub struct PlotOptions {
    /// Best configurations (or runs) of each data set to draw densities for (when `runs` is
    /// empty) and to highlight in the curves.
    pub top: usize,
    /// Whether the best are configurations (by their mean over seeds) or single runs.
    pub ranked: Ranked,
    /// Run ids to draw densities for, instead of the best ones.
    pub runs: Vec<String>,
    /// Write an SVG beside every PNG.
    pub svg: bool,
    /// Draw each density's chain samples (its sampler's chains) beside its exact samples
    /// (`--chains`).
    pub chains: bool,
    /// The folder the pictures go into; `None`: `plots/` in the results folder.
    pub out: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{dir} has no finished runs to plot; run the sweep first")]
    NoResults { dir: PathBuf },
    #[error(transparent)]
    UnknownRun(#[from] RunIdError),
    #[error("cannot draw {path}: {message}")]
    Draw { path: PathBuf, message: String },
    #[error("cannot write pictures into {path}: {reason}; write them elsewhere with --out DIR")]
    Unwritable {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::sweep::store::StoreError),
}

/// The most runs drawn in grey behind the highlighted ones in a curves picture: beyond a few
/// hundred the grey is a solid band, and reading every run's curve would cost time and memory
/// that grow with the sweep.
pub const MAX_BACKGROUND_CURVES: usize = 500;

/// A plotted run's model, curve and samples, read from the results folder.
fn model_of(record: &RunRecord) -> Result<RunDetails, PlotError> {
    record.details()?.ok_or_else(|| PlotError::Draw {
        path: PathBuf::from(&record.spec.run_id),
        message: "the run has no model (it failed)".into(),
    })
}

/// (epoch, test_ll) at each evaluation of a run, read from the results folder.
type CurvePoints = Vec<(f64, f64)>;

fn curve_points(r: &RunRecord) -> Result<CurvePoints, PlotError> {
    let curve = r.details()?.map(|d| d.curve).unwrap_or_default();
    Ok(curve.iter().map(|p| (p.epoch as f64, p.test_ll)).collect())
}

/// At most `max` of `runs`, evenly spread over them in their order (all when there are fewer).
fn spread<T: Copy>(runs: &[T], max: usize) -> Vec<T> {
    if runs.len() <= max {
        return runs.to_vec();
    }
    (0..max).map(|i| runs[i * runs.len() / max]).collect()
}

/// A heat map's cells stay readable (a value and a seed count each) up to this many values per
/// axis; a grid with a longer axis is drawn as slices.
pub const MAX_GRID_VALUES: usize = 40;

/// Whether a search is drawn as slices rather than heat maps: drawn configurations rarely share
/// a cell, and a halving search trains few configurations to the end, so either's heat maps
/// would be mostly empty cells; and an axis of more than [`MAX_GRID_VALUES`] values would make
/// cells narrower than their text (and, at a million runs, an SVG of hundreds of megabytes).
fn sliced(exp: &crate::experiment::Experiment) -> bool {
    let long_axis = exp.grid.iter().any(|axis| {
        axis.key != SEED_KEY
            && axis
                .values
                .list()
                .is_some_and(|values| values.len() > MAX_GRID_VALUES)
    });
    exp.search.draws()
        || exp.search.strategy == crate::experiment::search::Strategy::Halving
        || long_axis
}

/// Pixel sizes of the pictures.
pub const DENSITY_SIZE: (u32, u32) = (1200, 580);
/// Without a true density beside: wide enough for the title's lines.
pub const DENSITY_SIZE_ALONE: (u32, u32) = (760, 580);
pub const CURVES_SIZE: (u32, u32) = (900, 560);
pub const GRID_SIZE: (u32, u32) = (840, 620);
pub const SLICE_SIZE: (u32, u32) = (840, 580);
pub const AIS_SIZE: (u32, u32) = (1100, 560);
/// The diagnostics picture: two charts side by side.
pub const DIAGNOSTICS_SIZE: (u32, u32) = (1100, 560);
/// Pixel size of one data set's pair of panels in `best`, and of the title above them and the key below.
pub const BEST_PAIR_SIZE: (u32, u32) = (600, 370);
const BEST_TITLE: u32 = 64;
const BEST_FOOTER: u32 = 44;
/// The parameters a density's title names when the experiment sweeps nothing.
const TITLE_KEYS: [&str; 5] = ["hidden", "lr", "k", "sampler", "seed"];
/// Raster cells per axis of a density heat map.
const RASTER: usize = 140;
/// Raster cells per axis of the small heat maps of `best`.
const SMALL_RASTER: usize = 80;
/// The colour of the chain samples (`--chains`): apart from the exact samples' red and
/// from every colour of the heat map.
const CHAIN_COLOUR: RGBColor = CYAN;
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
    /// Creates `out` if needed, and checks that files can be written into it before anything is
    /// drawn: a read-only results folder is reported once, with the way around it, rather than
    /// as the drawing backend's error for the first picture.
    fn in_folder(out: PathBuf, svg: bool) -> Result<Self, PlotError> {
        let unwritable = |reason| PlotError::Unwritable {
            path: out.clone(),
            reason,
        };
        std::fs::create_dir_all(&out).map_err(unwritable)?;
        let probe = out.join(".grbm-sweep-write-check");
        std::fs::write(&probe, b"").map_err(unwritable)?;
        let _ = std::fs::remove_file(&probe);
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
    let out = opts.out.clone().unwrap_or_else(|| dir.join("plots"));
    let mut pictures = Pictures::in_folder(out, opts.svg)?;
    let configs = configs(
        &folder.records,
        &folder.datasets,
        seeds(&folder.experiment).len(),
    );
    draw_all(&mut pictures, folder, dir, opts, &configs)?;
    match pictures {
        Pictures::Files { written, .. } => Ok(written),
        Pictures::Inline(_) => unreachable!("made as files above"),
    }
}

/// The pictures `plot` would write, as (file stem, picture) pairs in the same order, drawn in
/// memory (SVG, or PNG where the SVG would be too large to inline); `configs` are the folder's
/// ([`configs`]), which the page has computed already; `dir` only names the folder in errors.
pub fn inline_pictures(
    folder: &Folder,
    dir: &Path,
    opts: &PlotOptions,
    configs: &[Config<'_>],
) -> Result<Vec<(String, Inline)>, PlotError> {
    let mut pictures = Pictures::Inline(Vec::new());
    draw_all(&mut pictures, folder, dir, opts, configs)?;
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
    configs: &[Config<'_>],
) -> Result<(), PlotError> {
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    let finished = finished_runs(folder, dir)?;
    let ranked = ranked_candidates(configs, &finished, folder.datasets.len(), opts.ranked);
    for (record, chosen) in chosen_runs(folder, dir, &ranked, opts)? {
        draw_density(pictures, folder, record, chosen, opts.chains)?;
    }
    for (dataset, candidates) in ranked.iter().enumerate() {
        let top = &candidates[..candidates.len().min(opts.top.max(1))];
        draw_curves(pictures, folder, &finished, top, dataset)?;
        draw_diagnostics(pictures, folder, top, dataset)?;
        if sliced(&folder.experiment) {
            draw_slices(pictures, folder, candidates, dataset)?;
        } else {
            draw_grids(pictures, folder, candidates, dataset)?;
        }
    }
    draw_best(pictures, folder, &ranked)?;
    for (dataset, candidates) in ranked.iter().enumerate() {
        draw_rungs(pictures, folder, dataset, candidates.first())?;
    }
    for dataset in 0..folder.datasets.len() {
        draw_ais(pictures, folder, &finished, dataset)?;
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

/// What the pictures rank and show as best: a configuration, summarized over its seeds and
/// drawn by its median seed, or a single run.
#[derive(Debug, Clone, Copy)]
struct Candidate<'c> {
    /// The run a picture draws for it: the configuration's median seed by valid_ll (a typical
    /// run, not the luckiest), or the run itself.
    run: &'c RunRecord,
    /// The configuration's id, when it stands for one.
    config_id: Option<&'c str>,
    /// Over the configuration's finished seeds; a run's own value (n = 1) for a run.
    valid_ll: Estimate,
    test_ll: Estimate,
}

impl<'c> Candidate<'c> {
    fn of_config(config: &'c Config<'_>) -> Option<Self> {
        Some(Self {
            run: config.representative()?,
            config_id: Some(config.config_id),
            valid_ll: config.valid_ll?,
            test_ll: config.test_ll?,
        })
    }

    fn of_run(run: &'c RunRecord) -> Option<Self> {
        Some(Self {
            run,
            config_id: None,
            valid_ll: Estimate::of(&[run.valid_ll()?])?,
            test_ll: Estimate::of(&[run.test_ll()?])?,
        })
    }

    /// Its swept values, with the configuration's or the run's id beside.
    fn name(&self, exp: &Experiment) -> String {
        match self.config_id {
            Some(id) => config_name(exp, &self.run.spec, id),
            None => run_name(exp, &self.run.spec),
        }
    }

    /// Its log-likelihoods: a configuration's means over its seeds with the 95% t-interval of
    /// the mean test_ll, or a run's own.
    fn scores(&self) -> String {
        let (valid, test) = (self.valid_ll.mean, self.test_ll.mean);
        match self.config_id {
            Some(_) => format!(
                "mean valid_ll {valid:.4}, test_ll {test:.4}{} over {}",
                self.test_ll.ci.map_or(String::new(), |(low, high)| format!(
                    " [{low:.4}, {high:.4}]"
                )),
                plural(self.test_ll.n, "seed")
            ),
            None => format!("valid_ll {valid:.4}, test_ll {test:.4}"),
        }
    }
}

/// The candidates of every data set, best first: configurations by their mean valid_ll over
/// their seeds ([`best_configs`]) when `ranked` asks for them and some configuration has
/// several seeds, else single runs by valid_ll ([`best_runs`]), as the summary ranks them.
fn ranked_candidates<'c>(
    configs: &'c [Config<'_>],
    finished: &[&'c RunRecord],
    datasets: usize,
    ranked: Ranked,
) -> Vec<Vec<Candidate<'c>>> {
    let by_config = ranked == Ranked::Configs && replicated(configs);
    (0..datasets)
        .map(|dataset| {
            if by_config {
                best_configs(configs, dataset)
                    .into_iter()
                    .filter_map(Candidate::of_config)
                    .collect()
            } else {
                best_runs(finished.iter().copied(), dataset)
                    .into_iter()
                    .filter_map(Candidate::of_run)
                    .collect()
            }
        })
        .collect()
}

/// The runs to draw densities for: those named in `opts.runs`, else the runs of the best
/// `opts.top` candidates of each data set, each with the candidate it stands for.
fn chosen_runs<'c>(
    folder: &'c Folder,
    dir: &Path,
    ranked: &'c [Vec<Candidate<'c>>],
    opts: &PlotOptions,
) -> Result<Vec<(&'c RunRecord, Option<&'c Candidate<'c>>)>, PlotError> {
    if opts.runs.is_empty() {
        return Ok(ranked
            .iter()
            .flat_map(|candidates| candidates.iter().take(opts.top))
            .map(|c| (c.run, Some(c)))
            .collect());
    }
    opts.runs
        .iter()
        .map(|id| Ok((folder.resolve_run(dir, id, true)?, None)))
        .collect()
}

/// `density-<run id>`: the run's density with its exact samples (and its chain samples with
/// `chains`), beside the true one when that is known; titled with the candidate it was chosen
/// for, if any.
fn draw_density(
    pictures: &mut Pictures,
    folder: &Folder,
    record: &RunRecord,
    chosen: Option<&Candidate<'_>>,
    chains: bool,
) -> Result<(), PlotError> {
    let data = &folder.datasets[record.spec.dataset];
    let truth = true_density(folder, record.spec.dataset);
    let size = if truth.is_some() {
        DENSITY_SIZE
    } else {
        DENSITY_SIZE_ALONE
    };
    let title = density_title(&folder.experiment, data, record, chosen);
    let details = model_of(record)?;
    render!(
        *pictures,
        format!("density-{}", record.spec.run_id),
        size,
        density_figure(record, &details, data, truth.as_ref(), &title, chains)
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

/// `best`: the best candidate of every data set beside its true density, one pair per data set.
fn draw_best(
    pictures: &mut Pictures,
    folder: &Folder,
    ranked: &[Vec<Candidate<'_>>],
) -> Result<(), PlotError> {
    let bests: Vec<&Candidate<'_>> = ranked.iter().filter_map(|c| c.first()).collect();
    let models = bests
        .iter()
        .map(|c| model_of(c.run))
        .collect::<Result<Vec<_>, _>>()?;
    render!(
        *pictures,
        "best",
        best_size(bests.len()),
        best_figure(folder, &bests, &models)
    );
    Ok(())
}

fn best_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    folder: &Folder,
    bests: &[&Candidate<'_>],
    models: &[RunDetails],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (columns, rows) = best_layout(bests.len());
    let (body, footer) = root.split_vertically(root.dim_in_pixel().1 - BEST_FOOTER);
    let (title, grid) = body.split_vertically(BEST_TITLE);
    let by_config = bests.iter().any(|c| c.config_id.is_some());
    let title_lines = if by_config {
        vec![
            "Best configuration of each data set, by mean valid_ll over its seeds,".to_string(),
            "drawn by its median seed beside the true density".to_string(),
        ]
    } else {
        vec!["Best run of each data set (by valid_ll) beside its true density".to_string()]
    };
    titled_lines(&title, &title_lines, 20)?;
    let areas = grid.split_evenly((rows, columns));
    for ((candidate, model), area) in bests.iter().zip(models).zip(areas) {
        best_pair(&area, folder, candidate, &model.model)?;
    }
    // Two short lines, so that a single column of pairs holds them.
    let key = [
        format!(
            "log density: dark = {LOG_DENSITY_RANGE} nats below each panel's max, yellow = max"
        ),
        format!(
            "gap = true_ll - {}test_ll, in nats per test point",
            if by_config { "mean " } else { "" }
        ),
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

/// The caption of a data set's pair in `best`: the candidate, its scores, and the truth.
fn best_caption(folder: &Folder, candidate: &Candidate<'_>) -> Vec<String> {
    let data = &folder.datasets[candidate.run.spec.dataset];
    let truth = match data.true_ll {
        Some(t) => format!("true_ll {t:.4}, gap {:.4}", t - candidate.test_ll.mean),
        None => "true density unknown".to_string(),
    };
    vec![
        format!("{}: {}", data.name, candidate.name(&folder.experiment)),
        candidate.scores(),
        truth,
    ]
}

/// One data set's pair: its best model's log density, and the true one (or the test points).
fn best_pair<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    folder: &Folder,
    candidate: &Candidate<'_>,
    model: &Grbm,
) -> DrawResult<DB> {
    let record = candidate.run;
    let data = &folder.datasets[record.spec.dataset];
    let log_z = log_z_grid(model, None).log_z;
    let panels = titled_lines(
        &area.margin(6, 0, 8, 8),
        &best_caption(folder, candidate),
        15,
    )?
    .split_evenly((1, 2));
    let bounds = data_bounds(data);
    let model_density = |x: [f64; 2]| -model.free_energy(x) - log_z;
    let model_caption = match candidate.config_id {
        Some(_) => format!("model: {}", seed_of(record)),
        None => format!("model {}", record.spec.run_id),
    };
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

/// Draws `lines` centred at the top of `area`, one under the other, and returns the area below
/// them.
fn titled_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lines: &[String],
    size: u32,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let step = size * 13 / 10;
    let (head, rest) = area.split_vertically(step * lines.len() as u32 + size);
    let style =
        TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    let centre = head.dim_in_pixel().0 as i32 / 2;
    for (i, line) in lines.iter().enumerate() {
        let top = (size / 2 + step * i as u32) as i32;
        head.draw(&Text::new(line.as_str(), (centre, top), style.clone()))?;
    }
    Ok(rest)
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

/// The keys that name a run: the swept ones (the seed among them), or the main ones when
/// nothing is swept.
fn run_keys(exp: &Experiment) -> Vec<&'static str> {
    let swept: Vec<&str> = exp.grid.iter().map(|a| a.key).collect();
    if swept.is_empty() {
        TITLE_KEYS.to_vec()
    } else {
        swept
    }
}

/// "hidden=16 lr=0.01": the values of `keys` in a run's recipe. (Unlike the summary's lines,
/// without the data set: every picture names it in its title.)
fn values_of(spec: &RunSpec, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("{k}={}", param(spec, k)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "hidden=16 lr=0.01 seed=0 (run <id>)": a run by its values, its id beside.
fn run_name(exp: &Experiment, spec: &RunSpec) -> String {
    format!("{} (run {})", values_of(spec, &run_keys(exp)), spec.run_id)
}

/// "hidden=16 lr=0.01 (config <id>)": a configuration by its swept values but the seed.
fn config_name(exp: &Experiment, spec: &RunSpec, config_id: &str) -> String {
    let keys = config_keys(exp);
    // With the seed the only axis there is one configuration (per data set): its id names it.
    if keys.is_empty() {
        return format!("config {config_id}");
    }
    format!("{} (config {config_id})", values_of(spec, &keys))
}

/// The title lines of a density on `data`: the run by its values, or the configuration it
/// stands for with its scores over the seeds and which seed is drawn.
fn density_title(
    exp: &Experiment,
    data: &Dataset,
    record: &RunRecord,
    chosen: Option<&Candidate<'_>>,
) -> Vec<String> {
    match chosen.filter(|c| c.config_id.is_some()) {
        Some(c) => vec![
            format!("{}: {}", data.name, c.name(exp)),
            format!("{} (95% t-interval)", c.scores()),
            format!("drawn: its median seed by valid_ll, {}", seed_of(record)),
        ],
        None => vec![format!(
            "{}: run {}: {}",
            data.name,
            record.spec.run_id,
            values_of(&record.spec, &run_keys(exp))
        )],
    }
}

/// "seed 2 (run <id>)".
fn seed_of(record: &RunRecord) -> String {
    format!(
        "seed {} (run {})",
        param(&record.spec, SEED_KEY),
        record.spec.run_id
    )
}

/// What the pictures of data set `dataset` add to their names: nothing for a lone data set,
/// which keeps the plain file names, else "-<data set>".
fn dataset_suffix(folder: &Folder, dataset: usize) -> String {
    if folder.datasets.len() > 1 {
        format!("-{}", slug(&folder.datasets[dataset].name))
    } else {
        String::new()
    }
}

/// `curves`: every run's learning curve, the runs of the `top` candidates in colour.
fn draw_curves(
    pictures: &mut Pictures,
    folder: &Folder,
    finished: &[&RunRecord],
    top: &[Candidate<'_>],
    dataset: usize,
) -> Result<(), PlotError> {
    let data = &folder.datasets[dataset];
    let runs: Vec<&RunRecord> = finished
        .iter()
        .filter(|r| r.spec.dataset == dataset)
        .copied()
        .collect();
    let background = spread(&runs, MAX_BACKGROUND_CURVES)
        .into_iter()
        .map(curve_points)
        .collect::<Result<Vec<_>, _>>()?;
    let highlighted = top
        .iter()
        .map(|c| {
            let label = format!(
                "{}: valid {:.4}, test {:.4}",
                run_name(&folder.experiment, &c.run.spec),
                c.run.valid_ll().unwrap_or(f64::NAN),
                c.run.test_ll().unwrap_or(f64::NAN)
            );
            Ok((curve_points(c.run)?, label))
        })
        .collect::<Result<Vec<Highlight>, PlotError>>()?;
    let best_final = top.first().and_then(|c| c.run.test_ll()).unwrap_or(0.0);
    let in_colour = if top.iter().any(|c| c.config_id.is_some()) {
        format!(
            "in colour: the median seed (by valid_ll) of each of the best {} by mean valid_ll",
            plural(top.len(), "configuration")
        )
    } else {
        format!(
            "in colour: the best {} by valid_ll",
            plural(top.len(), "run")
        )
    };
    let title = [
        format!("test log-likelihood during training on {}", data.name),
        in_colour,
    ];
    render!(
        *pictures,
        format!("curves{}", dataset_suffix(folder, dataset)),
        CURVES_SIZE,
        curves_figure(&background, &highlighted, best_final, data, &title)
    );
    Ok(())
}

/// "1 run", "4 runs", "4 configurations".
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
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
    details: &RunDetails,
    data: &Dataset,
    truth: Option<&Generator>,
    title: &[String],
    chains: bool,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let run = record.result.as_ref().expect("plotted runs have a model");
    let model = &details.model;
    let log_z = log_z_grid(model, None).log_z;
    let e = run.evaluation.expect("plotted runs are evaluated");
    let (body, footer) = root.split_vertically(root.dim_in_pixel().1 - 30);
    let title_area = titled_lines(&body, title, 15)?;
    let panels = if truth.is_some() {
        title_area.split_evenly((1, 2))
    } else {
        vec![title_area]
    };
    let bounds = data_bounds(data);
    let model_density = |x: [f64; 2]| -model.free_energy(x) - log_z;
    // The chain samples under the exact ones, so that where the two agree the exact show.
    let mut overlays: Vec<(&[[f64; 2]], RGBAColor)> = vec![(&data.test, BLACK.mix(0.6))];
    if chains {
        overlays.push((&details.chain_samples, CHAIN_COLOUR.mix(0.8)));
    }
    overlays.push((&details.exact_samples, RED.mix(0.8)));
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
    let exact = match details.exact_samples.len() {
        0 => "no exact samples (recorded by an earlier version)".to_string(),
        count => format!("red: {count} exact samples"),
    };
    let chain = match (chains, details.chain_samples.len()) {
        (false, _) => String::new(),
        (true, 0) => "; no chain samples (a sampler without chains)".to_string(),
        (true, count) => format!("; cyan: {count} states of the sampler's chains"),
    };
    footer.draw(&Text::new(
        format!(
            "log density: dark = {LOG_DENSITY_RANGE} nats below max, yellow = max; black: test points; {exact}{chain}"
        ),
        (12, 6),
        ("sans-serif", 13),
    ))?;
    Ok(())
}

/// A run's curve highlighted in the curves picture, with its legend entry.
type Highlight = (CurvePoints, String);

/// The curves picture: `runs` in grey, `top` in colour; the best highlighted run ended at
/// `best_final`.
fn curves_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[CurvePoints],
    top: &[Highlight],
    best_final: f64,
    data: &Dataset,
    title: &[String],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let all: Vec<&CurvePoints> = runs.iter().chain(top.iter().map(|(c, _)| c)).collect();
    let (epochs, test_ll) = curves_ranges(&all, best_final, data);
    let max_epoch = epochs.end;
    let mut chart = ChartBuilder::on(&titled_lines(root, title, 18)?)
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(epochs, test_ll)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(epoch_labels(max_epoch))
        .x_label_formatter(&epoch_tick)
        .x_desc("epoch")
        .y_desc("test_ll (nats per point)")
        .draw()?;
    draw_run_curves(&mut chart, runs, top)?;
    if let Some(t) = data.true_ll {
        draw_true_ll(&mut chart, t, max_epoch)?;
    }
    draw_legend(&mut chart)
}

/// An epoch tick's label: a count, so "5", not the "5.0" of a float axis.
fn epoch_tick(epoch: &f64) -> String {
    format!("{epoch:.0}")
}

/// How many ticks to ask of an epoch axis from 0 to `max_epoch`: at most one per epoch, so that
/// plotters' steps (a power of ten over 1, 2, 5 or 10) never land between two epochs, where an
/// integer label would name the wrong one ("2" at 2.5).
fn epoch_labels(max_epoch: f64) -> usize {
    (max_epoch as usize + 1).min(10)
}

/// The epoch and test log-likelihood ranges of the curves picture, whose best highlighted run
/// ended at `best_final`.
fn curves_ranges(
    runs: &[&CurvePoints],
    best_final: f64,
    data: &Dataset,
) -> (Range<f64>, Range<f64>) {
    let max_epoch = runs
        .iter()
        .flat_map(|r| r.iter())
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let upper = runs
        .iter()
        .flat_map(|r| r.iter())
        .map(|p| p.1)
        .chain(data.true_ll)
        .fold(f64::NEG_INFINITY, f64::max);
    // Early epochs can sit hundreds of nats below: show the range where the runs compete.
    let lower = runs
        .iter()
        .flat_map(|r| r.iter())
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .max(best_final - 4.0);
    let pad = 0.05 * (upper - lower).max(0.1);
    (0.0..max_epoch, (lower - pad)..(upper + pad))
}

/// Every run in thin grey, then the `top` runs over them in colour, with their legend entries.
fn draw_run_curves<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    runs: &[CurvePoints],
    top: &[Highlight],
) -> DrawResult<DB> {
    for curve in runs {
        chart.draw_series(LineSeries::new(
            curve.iter().copied(),
            RGBColor(190, 190, 190).stroke_width(1),
        ))?;
    }
    for (i, (curve, label)) in top.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                curve.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(label)
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

/// `grid-<a>-<b>` for every pair of the axes that name a configuration: the seed is never one,
/// since a cell is summarized over its seeds.
fn draw_grids(
    pictures: &mut Pictures,
    folder: &Folder,
    ranked: &[Candidate<'_>],
    dataset: usize,
) -> Result<(), PlotError> {
    let keys = config_keys(&folder.experiment);
    let specs: Vec<&RunSpec> = folder
        .runs
        .iter()
        .filter(|r| r.dataset == dataset)
        .map(|r| &**r)
        .collect();
    let data = &folder.datasets[dataset];
    let suffix = dataset_suffix(folder, dataset);
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            let cells = GridCells::collect(&specs, ranked, a, b);
            render!(
                *pictures,
                format!("grid-{a}-{b}{suffix}"),
                GRID_SIZE,
                grid_figure(&cells, a, b, data)
            );
        }
    }
    Ok(())
}

/// The best candidate of each cell of two grid axes `a` and `b`.
struct GridCells<'k, 'c> {
    /// The values of `a` among the runs of the grid, sorted (`configs::compare_values`: numbers by value).
    values_a: Vec<ParamValue>,
    /// The values of `b`, likewise.
    values_b: Vec<ParamValue>,
    /// `best[i][j]` is for `values_a[i]` and `values_b[j]`; `None` where no run finished.
    best: Vec<Vec<Option<&'k Candidate<'c>>>>,
}

impl<'k, 'c> GridCells<'k, 'c> {
    /// The cells of the runs `specs`, each holding its best of `ranked` (best first).
    fn collect(specs: &[&RunSpec], ranked: &'k [Candidate<'c>], a: &str, b: &str) -> Self {
        let values_a = sorted_values(specs, a);
        let values_b = sorted_values(specs, b);
        // Each value's place, looked up in one step (the first place of values that are `==`,
        // as a scan finds it): a scan per candidate made a 1000 x 1000 grid cost 10^9 steps.
        let places = |values: &[ParamValue]| {
            let mut places: HashMap<EqKey, usize> = HashMap::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                places.entry(v.eq_key()).or_insert(i);
            }
            places
        };
        let (places_a, places_b) = (places(&values_a), places(&values_b));
        let mut best = vec![vec![None; values_b.len()]; values_a.len()];
        for c in ranked {
            let at = |places: &HashMap<EqKey, usize>, key: &str| {
                places.get(&param(&c.run.spec, key).eq_key()).copied()
            };
            if let (Some(i), Some(j)) = (at(&places_a, a), at(&places_b, b)) {
                // The first to arrive is the cell's best.
                best[i][j].get_or_insert(c);
            }
        }
        Self {
            values_a,
            values_b,
            best,
        }
    }

    /// The values the cells show, one per occupied cell.
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.best.iter().flatten().flatten().map(|c| c.test_ll.mean)
    }

    /// Whether the cells are configurations (else single runs).
    fn of_configs(&self) -> bool {
        self.best
            .iter()
            .flatten()
            .flatten()
            .any(|c| c.config_id.is_some())
    }
}

/// The distinct values of `key` among `specs`, sorted (`configs::compare_values`: numbers by value).
fn sorted_values(specs: &[&RunSpec], key: &str) -> Vec<ParamValue> {
    distinct_values(specs.iter().map(|spec| param(spec, key)))
}

/// The colours of a heat map's values: its lowest value at the dark end of the colour map, its
/// highest at the yellow end.
#[derive(Debug, Clone, Copy)]
struct ColourScale {
    low: f64,
    high: f64,
}

impl ColourScale {
    /// The scale over `values`; `None` without any. Equal values get a span of a thousandth
    /// around them, so that they take the middle colour.
    fn over(values: impl Iterator<Item = f64>) -> Option<Self> {
        let (low, high) = extent(values.filter(|v| v.is_finite()));
        if low > high {
            return None;
        }
        let pad = if high - low < 1e-9 { 5e-4 } else { 0.0 };
        Some(Self {
            low: low - pad,
            high: high + pad,
        })
    }

    /// Where `v` falls, from 0 (`low`) to 1 (`high`).
    fn position(&self, v: f64) -> f64 {
        ((v - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
    }

    fn colour(&self, v: f64) -> RGBColor {
        ViridisRGB::get_color(self.position(v))
    }
}

/// Pixels right of a heat map for its colour bar, the bar's ticks and its label.
const COLOUR_BAR_WIDTH: u32 = 120;
/// Pixels under a heat map's cells for the x tick labels and axis name (and as much under its
/// colour bar, so that both line up).
const GRID_X_LABELS: u32 = 50;

/// The test_ll of the best candidate of every cell of the (a, b) grid axes, with a colour bar.
fn grid_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cells: &GridCells<'_, '_>,
    a: &str,
    b: &str,
    data: &Dataset,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (measure, shows) = if cells.of_configs() {
        (
            "mean test_ll",
            "each cell: the mean test_ll over the seeds of its best configuration by mean valid_ll",
        )
    } else {
        (
            "test_ll",
            "each cell: the test_ll of its best run by valid_ll",
        )
    };
    let title = [
        format!("{}: test_ll by {a} and {b} (nats per point)", data.name),
        shows.to_string(),
    ];
    let body = titled_lines(root, &title, 16)?;
    let (plot_area, bar_area) = body.split_horizontally(body.dim_in_pixel().0 - COLOUR_BAR_WIDTH);
    let (na, nb) = (cells.values_a.len(), cells.values_b.len());
    let label = |values: &[ParamValue], v: f64| cell_label(values, v);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(14)
        .x_label_area_size(GRID_X_LABELS)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..(na as f64 - 0.5), -0.5..(nb as f64 - 0.5))?;
    // Ticks fall on every half cell; only those at cell centres are labelled.
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(na * 2 + 1)
        .y_labels(nb * 2 + 1)
        .x_label_formatter(&|v| label(&cells.values_a, *v))
        .y_label_formatter(&|v| label(&cells.values_b, *v))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .x_desc(a)
        .y_desc(b)
        .draw()?;
    let scale = ColourScale::over(cells.values());
    let (width, height) = chart.plotting_area().dim_in_pixel();
    let cell_pixels = (width as usize / na.max(1)).min(height as usize / nb.max(1));
    let text_size = (cell_pixels / 6).clamp(9, 19) as u32;
    draw_grid_cells(&mut chart, cells, scale, text_size)?;
    match scale {
        Some(scale) => colour_bar(&bar_area, scale, &format!("{measure} (nats per point)")),
        None => Ok(()),
    }
}

/// The value of the cell centred at axis position `v`, or nothing between cells.
fn cell_label(values: &[ParamValue], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() < 1e-6 && i >= 0.0 {
        values
            .get(i as usize)
            .map_or(String::new(), |v| v.to_string())
    } else {
        String::new()
    }
}

/// The grey of an empty cell, and of its hatching and text.
const EMPTY_CELL: RGBColor = RGBColor(238, 238, 238);
const EMPTY_INK: RGBColor = RGBColor(150, 150, 150);

/// Each cell as a square coloured by its value, with the value and the seeds (or the seed) it
/// is over written on it; an empty cell light grey, hatched and marked "empty".
fn draw_grid_cells<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    cells: &GridCells<'_, '_>,
    scale: Option<ColourScale>,
    text_size: u32,
) -> DrawResult<DB> {
    let centred = |colour: RGBColor| {
        ("sans-serif", text_size)
            .into_font()
            .color(&colour)
            .pos(Pos::new(HPos::Center, VPos::Center))
    };
    for (i, row) in cells.best.iter().enumerate() {
        for (j, cell) in row.iter().enumerate() {
            let (x, y) = (i as f64, j as f64);
            let corners = [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)];
            let (Some(c), Some(scale)) = (cell, scale) else {
                chart.draw_series([Rectangle::new(corners, EMPTY_CELL.filled())])?;
                chart.draw_series(
                    hatching(x, y)
                        .map(|line| PathElement::new(line, EMPTY_INK.mix(0.5).stroke_width(1))),
                )?;
                chart.draw_series([Text::new("empty", (x, y), centred(EMPTY_INK))])?;
                continue;
            };
            let value = c.test_ll.mean;
            chart.draw_series([Rectangle::new(corners, scale.colour(value).filled())])?;
            // Keeps the text readable: dark ink on the light end of the colour map.
            let ink = if scale.position(value) > 0.6 {
                BLACK
            } else {
                WHITE
            };
            // The value above the centre and what it is over below, a line apart in pixels.
            let line = text_size as i32 * 7 / 10;
            chart.draw_series([
                EmptyElement::at((x, y))
                    + Text::new(format!("{value:.3}"), (0, -line), centred(ink)),
                EmptyElement::at((x, y)) + Text::new(cell_note(c), (0, line), centred(ink)),
            ])?;
        }
    }
    Ok(())
}

/// What a cell's value is over: "4 seeds" for a configuration, "seed 2" for a single run.
fn cell_note(c: &Candidate<'_>) -> String {
    match c.config_id {
        Some(_) => plural(c.test_ll.n, "seed"),
        None => format!("seed {}", param(&c.run.spec, SEED_KEY)),
    }
}

/// Diagonal lines across the cell centred at (x, y), a unit square.
fn hatching(x: f64, y: f64) -> impl Iterator<Item = Vec<(f64, f64)>> {
    const LINES: usize = 8;
    (1..LINES).map(move |k| {
        // The line u - v = s of the unit square's corner coordinates (u, v).
        let s = 2.0 * k as f64 / LINES as f64 - 1.0;
        let (from, to) = if s >= 0.0 {
            ((s, 0.0), (1.0, 1.0 - s))
        } else {
            ((0.0, -s), (1.0 + s, 1.0))
        };
        let at = |(u, v): (f64, f64)| (x - 0.5 + u, y - 0.5 + v);
        vec![at(from), at(to)]
    })
}

/// A vertical bar of the colour map, `scale.low` at the bottom and `scale.high` at the top,
/// with its ticks and `label`, lined up with the heat map's cells.
fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: ColourScale,
    label: &str,
) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .margin_left(4)
        .x_label_area_size(GRID_X_LABELS)
        .right_y_label_area_size(78)
        .build_cartesian_2d(0.0..1.0, scale.low..scale.high)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&|v| format!("{v:.3}"))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .y_desc(label)
        .draw()?;
    const STEPS: usize = 100;
    let step = (scale.high - scale.low) / STEPS as f64;
    chart.draw_series((0..STEPS).map(|k| {
        let low = scale.low + step * k as f64;
        Rectangle::new(
            [(0.0, low), (1.0, low + step)],
            scale.colour(low + step / 2.0).filled(),
        )
    }))?;
    Ok(())
}

/// `slice-<key>` for every swept key but the seed, for a search that draws its configurations
/// (where a heat map's cells would be mostly empty): each configuration's mean valid_ll against
/// its value of the key. A halving search's pruned configurations stand faded at their mean
/// valid_ll at the last rung they reached.
fn draw_slices(
    pictures: &mut Pictures,
    folder: &Folder,
    ranked: &[Candidate<'_>],
    dataset: usize,
) -> Result<(), PlotError> {
    if ranked.is_empty() {
        return Ok(());
    }
    let by_config = ranked.iter().any(|c| c.config_id.is_some());
    let pruned = pruned_at_last_rung(folder, dataset, by_config);
    let data = &folder.datasets[dataset];
    let suffix = dataset_suffix(folder, dataset);
    for axis in folder.experiment.grid.iter().filter(|a| a.key != SEED_KEY) {
        let slice = Slice::collect(&folder.experiment, axis, ranked, &pruned);
        render!(
            *pictures,
            format!("slice-{}{suffix}", axis.key),
            SLICE_SIZE,
            slice_figure(&slice, data)
        );
    }
    Ok(())
}

/// What a halving search stopped early on data set `dataset`: each configuration (or run, when
/// not `by_config`) with its valid_ll at the rung that pruned it (the mean over its seeds, which
/// the search prunes together).
fn pruned_at_last_rung(
    folder: &Folder,
    dataset: usize,
    by_config: bool,
) -> Vec<(&RunSpec, Estimate)> {
    let specs: HashMap<&str, &RunSpec> = folder
        .runs
        .iter()
        .map(|s| (s.run_id.as_str(), &**s))
        .collect();
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, (&RunSpec, Vec<f64>)> = HashMap::new();
    for row in &folder.rungs {
        let (Some(spec), Some(valid_ll)) = (specs.get(row.run_id.as_str()), row.valid_ll) else {
            continue;
        };
        if row.dataset != dataset || row.decision != Decision::Pruned {
            continue;
        }
        let key = if by_config {
            spec.config_id.as_str()
        } else {
            spec.run_id.as_str()
        };
        groups
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                (spec, Vec::new())
            })
            .1
            .push(valid_ll);
    }
    order
        .into_iter()
        .filter_map(|key| {
            let (spec, values) = &groups[key];
            Some((*spec, Estimate::of(values)?))
        })
        .collect()
}

/// How a slice lays out the values of its key.
#[derive(Debug, Clone, PartialEq)]
enum Scale {
    Linear,
    /// For a key drawn log-uniformly, or listed with positive values that span a factor of 10
    /// or more: equal ratios at equal distances.
    Log,
    /// Text and true/false values, each at its place in this list.
    Categories(Vec<ParamValue>),
}

/// The scale of a slice along grid axis `axis`, whose configurations took `values`.
fn slice_scale(axis: &AxisValues, values: &[ParamValue]) -> Scale {
    if values.iter().any(|v| number(*v).is_none()) {
        return Scale::Categories(distinct_values(values.iter().copied()));
    }
    let log = match axis {
        AxisValues::LogUniform { .. } => true,
        AxisValues::List(list) => spans_a_decade(list.iter().filter_map(|s| number(s.value()))),
        AxisValues::Uniform { .. } | AxisValues::RandInt { .. } => false,
    };
    if log { Scale::Log } else { Scale::Linear }
}

/// Whether `values` are all positive and the largest is 10 times the smallest or more.
fn spans_a_decade(values: impl Iterator<Item = f64>) -> bool {
    let (low, high) = extent(values);
    low > 0.0 && high >= 10.0 * low
}

/// The smallest and the largest of `values`: (infinity, minus infinity) for none.
fn extent(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values
        .into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// A number parameter's value; `None` for text and true/false.
fn number(v: ParamValue) -> Option<f64> {
    match v {
        ParamValue::Int(i) => Some(i as f64),
        ParamValue::Float(f) => Some(f),
        ParamValue::Bool(_) | ParamValue::Text(_) => None,
    }
}

/// One point of a slice: a configuration (or a run) at its value of the sliced key.
#[derive(Debug, Clone)]
struct SlicePoint {
    value: ParamValue,
    /// Over its seeds: at the end of training, or at the rung that pruned it.
    valid_ll: Estimate,
    pruned: bool,
}

/// A `slice-<key>` picture's content.
struct Slice {
    key: &'static str,
    scale: Scale,
    /// The pruned points first, then the finished ones best first.
    points: Vec<SlicePoint>,
    /// The best candidate's name, for the legend.
    best: Option<String>,
    of_configs: bool,
    /// The number of points before [`thinned`]: more than `points.len()` when some are not drawn.
    total: usize,
}

/// The most points a slice draws: beyond a few thousand, points on 840 pixels only hide each
/// other, and a million runs' slice would be an SVG of hundreds of megabytes.
pub const MAX_SLICE_POINTS: usize = 2000;

/// `points`, or when there are more than [`MAX_SLICE_POINTS`], that many of them evenly spread
/// in the order of their values (so the density of points along the axis is kept), with the
/// point at `best` always among them; the points kept stay in their order.
fn thinned(points: Vec<SlicePoint>, best: Option<usize>) -> Vec<SlicePoint> {
    if points.len() <= MAX_SLICE_POINTS {
        return points;
    }
    let mut by_value: Vec<usize> = (0..points.len()).collect();
    by_value.sort_by(|&i, &j| compare_values(&points[i].value, &points[j].value));
    let mut keep = vec![false; points.len()];
    for i in spread(&by_value, MAX_SLICE_POINTS - 1) {
        keep[i] = true;
    }
    if let Some(best) = best {
        keep[best] = true;
    }
    (points.into_iter().zip(keep))
        .filter_map(|(point, keep)| keep.then_some(point))
        .collect()
}

impl Slice {
    fn collect(
        exp: &Experiment,
        axis: &GridAxis,
        ranked: &[Candidate<'_>],
        pruned: &[(&RunSpec, Estimate)],
    ) -> Self {
        let point = |spec: &RunSpec, valid_ll: Estimate, pruned: bool| SlicePoint {
            value: param(spec, axis.key),
            valid_ll,
            pruned,
        };
        let points: Vec<SlicePoint> = (pruned.iter().map(|(spec, e)| point(spec, *e, true)))
            .chain(ranked.iter().map(|c| point(&c.run.spec, c.valid_ll, false)))
            .collect();
        let values: Vec<ParamValue> = points.iter().map(|p| p.value).collect();
        let total = points.len();
        let best = (!ranked.is_empty()).then_some(pruned.len());
        Self {
            key: axis.key,
            scale: slice_scale(&axis.values, &values),
            points: thinned(points, best),
            total,
            best: ranked.first().map(|c| c.name(exp)),
            of_configs: ranked.iter().any(|c| c.config_id.is_some()),
        }
    }

    /// Where value `v` stands on the x axis.
    fn x(&self, v: ParamValue) -> f64 {
        match &self.scale {
            Scale::Categories(values) => {
                values.iter().position(|c| *c == v).unwrap_or_default() as f64
            }
            Scale::Linear | Scale::Log => number(v).unwrap_or(f64::NAN),
        }
    }

    /// The valid_ll range: every finished point with its interval, and the pruned points down
    /// to as far again below the finished ones as those span, padded. Pruned points below it are
    /// drawn on its floor: a first rung's stragglers would squash the rest.
    fn y_range(&self) -> Range<f64> {
        let (low, high) = extent(self.points.iter().filter(|p| !p.pruned).flat_map(|p| {
            let e = p.valid_ll;
            let (low, high) = e.ci.unwrap_or((e.mean, e.mean));
            [low, high]
        }));
        let (pruned_low, pruned_high) = extent(
            self.points
                .iter()
                .filter(|p| p.pruned)
                .map(|p| p.valid_ll.mean),
        );
        let span = (high - low).max(0.5);
        let low = low.min(pruned_low.max(low - span));
        let high = high.max(pruned_high);
        let pad = 0.06 * (high - low);
        (low - pad)..(high + pad)
    }
}

/// Each configuration's mean valid_ll (with its 95% t-interval) against its value of one key,
/// with the key to its marks underneath.
fn slice_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    slice: &Slice,
    data: &Dataset,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let measure = if slice.of_configs {
        "mean valid_ll"
    } else {
        "valid_ll"
    };
    let mut title = vec![format!(
        "{}: {measure} by {} (nats per point)",
        data.name, slice.key
    )];
    if slice.points.len() < slice.total {
        let what = if slice.of_configs {
            "configurations"
        } else {
            "runs"
        };
        title.push(format!(
            "{} of {} {what} drawn, evenly spread along {}, the best among them",
            slice.points.len(),
            slice.total,
            slice.key
        ));
    }
    let key = slice_key(slice);
    let body = titled_lines(root, &title, 17)?;
    let (area, footer) = body.split_vertically(body.dim_in_pixel().1 - 8 - 20 * key.len() as u32);
    draw_key(&footer, &key)?;
    let (low, high) = extent(slice.points.iter().filter_map(|p| number(p.value)));
    match &slice.scale {
        Scale::Log => {
            // Equal margins in ratio: a twentieth of the span at each end.
            let pad = libm::pow(high / low, 0.05).max(1.1);
            let decades = libm::log10(high / low).floor().max(1.0) as usize;
            let ticks = move |v: &f64| log_tick(*v, decades < 2);
            let desc = format!("{} (log scale)", slice.key);
            let x = (low / pad..high * pad).log_scale();
            slice_chart(&area, slice, x, 10 * (decades + 2), &ticks, &desc)
        }
        Scale::Linear => {
            let pad = 0.05 * (high - low).max(1.0);
            let ticks = |v: &f64| short_number(*v);
            slice_chart(
                &area,
                slice,
                (low - pad)..(high + pad),
                10,
                &ticks,
                slice.key,
            )
        }
        Scale::Categories(values) => {
            let ticks = |v: &f64| cell_label(values, *v);
            let x = -0.5..(values.len() as f64 - 0.5);
            slice_chart(&area, slice, x, values.len() * 2 + 1, &ticks, slice.key)
        }
    }
}

/// How a kind of point of a slice is marked, in the chart and in its key.
#[derive(Debug, Clone, Copy)]
enum Mark {
    Dot(RGBColor),
    /// The ring around the best point.
    Ring,
}

/// The dots of the finished and of the pruned points of a slice.
const FINISHED_DOT: RGBColor = RGBColor(31, 100, 180);
const PRUNED_DOT: RGBColor = RGBColor(185, 185, 185);

impl Mark {
    fn at<C>(self, at: C) -> Circle<C, i32> {
        match self {
            Mark::Dot(colour) => Circle::new(at, 4, colour.filled()),
            Mark::Ring => Circle::new(at, 8, RED.stroke_width(2)),
        }
    }
}

/// The key of a slice's marks: one line per kind of point it shows.
fn slice_key(slice: &Slice) -> Vec<(Mark, String)> {
    let mut key = Vec::new();
    if slice.points.iter().any(|p| p.pruned) {
        key.push((
            Mark::Dot(PRUNED_DOT),
            "pruned by halving: its mean valid_ll at the rung that stopped it (fewer epochs; \
             on the bottom edge when below it)"
                .to_string(),
        ));
    }
    let finished = if slice.of_configs {
        "a configuration trained to the end: its mean valid_ll over its seeds, \
         the bar its 95% t-interval"
    } else {
        "a run trained to the end: its valid_ll"
    };
    key.push((Mark::Dot(FINISHED_DOT), finished.to_string()));
    if let Some(name) = &slice.best {
        key.push((Mark::Ring, format!("the best: {name}")));
    }
    key
}

/// `key` as lines of a mark and its meaning, from the top left of `area`.
fn draw_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    key: &[(Mark, String)],
) -> DrawResult<DB> {
    let style =
        TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (mark, text)) in key.iter().enumerate() {
        let y = 10 + 20 * i as i32;
        area.draw(&mark.at((40, y)))?;
        area.draw(&Text::new(text.as_str(), (56, y), style.clone()))?;
    }
    Ok(())
}

/// A tick label of a log axis: the powers of ten, and (`with_2_5`, for a short axis) the
/// values 2 and 5 times them; the ticks between stay unlabelled.
fn log_tick(v: f64, with_2_5: bool) -> String {
    let text = short_number(v);
    let scientific = format!("{:e}", text.parse::<f64>().unwrap_or(v));
    let mantissa = scientific.split('e').next().unwrap_or_default();
    if mantissa == "1" || (with_2_5 && (mantissa == "2" || mantissa == "5")) {
        text
    } else {
        String::new()
    }
}

/// `v` to three significant digits, written as short as it reads back: an axis's tick at
/// 0.0020000000000000005 reads 0.002.
fn short_number(v: f64) -> String {
    let rounded: f64 = format!("{v:.2e}").parse().unwrap_or(v);
    format!("{rounded}")
}

/// The slice's chart over x coordinates `x`, with `x_labels` ticks labelled by `x_tick`.
fn slice_chart<DB: DrawingBackend, X>(
    area: &DrawingArea<DB, Shift>,
    slice: &Slice,
    x: X,
    x_labels: usize,
    x_tick: &dyn Fn(&f64) -> String,
    x_desc: &str,
) -> DrawResult<DB>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let y = slice.y_range();
    let floor = y.start;
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(x_labels)
        .x_label_formatter(x_tick)
        .y_label_formatter(&|v| short_number(*v))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .x_desc(x_desc)
        .y_desc(if slice.of_configs {
            "mean valid_ll (nats per point)"
        } else {
            "valid_ll (nats per point)"
        })
        .draw()?;
    draw_slice_points(&mut chart, slice, floor)
}

/// The points of a slice: pruned ones faded (on the floor when below it), then the finished
/// ones with their intervals, the best ringed.
fn draw_slice_points<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, RangedCoordf64>>,
    slice: &Slice,
    floor: f64,
) -> DrawResult<DB> {
    let at = |p: &SlicePoint| (slice.x(p.value), p.valid_ll.mean.max(floor));
    let (pruned, finished): (Vec<&SlicePoint>, Vec<&SlicePoint>) =
        slice.points.iter().partition(|p| p.pruned);
    chart.draw_series(pruned.iter().map(|p| Mark::Dot(PRUNED_DOT).at(at(p))))?;
    for p in &finished {
        if let Some(interval) = p.valid_ll.ci {
            draw_error_bar(chart, slice.x(p.value), interval, FINISHED_DOT)?;
        }
    }
    chart.draw_series(finished.iter().map(|p| Mark::Dot(FINISHED_DOT).at(at(p))))?;
    if let Some(best) = finished.first() {
        chart.draw_series([Mark::Ring.at(at(best))])?;
    }
    Ok(())
}

/// A vertical bar from `low` to `high` at `x`, with short caps at its ends.
fn draw_error_bar<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, RangedCoordf64>>,
    x: f64,
    (low, high): (f64, f64),
    colour: RGBColor,
) -> DrawResult<DB> {
    let style = colour.stroke_width(1);
    chart.draw_series([PathElement::new(vec![(x, low), (x, high)], style)])?;
    // The caps in pixels, so that they look alike on a log axis too.
    chart.draw_series(
        [low, high]
            .map(|y| EmptyElement::at((x, y)) + PathElement::new(vec![(-5, 0), (5, 0)], style)),
    )?;
    Ok(())
}

/// `rungs` (with the data set's name when there are several): a halving search's runs at every
/// rung they entered, valid_ll against epochs; nothing for other searches.
fn draw_rungs(
    pictures: &mut Pictures,
    folder: &Folder,
    dataset: usize,
    best: Option<&Candidate<'_>>,
) -> Result<(), PlotError> {
    let rows: Vec<&RungRow> = folder
        .rungs
        .iter()
        .filter(|r| r.dataset == dataset)
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let data = &folder.datasets[dataset];
    let paths = rung_paths(folder, &rows, best.map(|c| c.run.spec.run_id.as_str()));
    let pick = match best.and_then(|c| c.config_id) {
        Some(_) => "the pick (median seed of the best config)",
        None => "the pick",
    };
    render!(
        *pictures,
        format!("rungs{}", dataset_suffix(folder, dataset)),
        CURVES_SIZE,
        rungs_figure(&paths, data, pick)
    );
    Ok(())
}

/// One run of a halving search in the rungs picture.
struct RungPath {
    /// The run by its swept values, its id beside.
    label: String,
    /// (epoch, valid_ll) at each rung it entered with a finite measurement.
    points: Vec<(f64, f64)>,
    /// Went on from the first rung.
    promoted: bool,
    /// Trained to the end (not pruned, not ended early).
    finished: bool,
    /// The run the other pictures draw as the best.
    pick: bool,
}

/// The runs of `rows` in grid order; the finished ones last, by final valid_ll, and the run
/// `pick` last of all.
fn rung_paths(folder: &Folder, rows: &[&RungRow], pick: Option<&str>) -> Vec<RungPath> {
    // A run's path and a run's recipe by its id, one lookup each instead of a scan per row.
    let specs: HashMap<&str, &RunSpec> = folder
        .runs
        .iter()
        .map(|r| (r.run_id.as_str(), &**r))
        .collect();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut paths: Vec<RungPath> = Vec::new();
    for row in rows {
        let at = *ids.entry(row.run_id.as_str()).or_insert_with(|| {
            let spec = specs.get(row.run_id.as_str());
            paths.push(RungPath {
                label: spec.map_or(row.run_id.clone(), |s| run_name(&folder.experiment, s)),
                points: Vec::new(),
                promoted: false,
                finished: false,
                pick: pick == Some(row.run_id.as_str()),
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
        (a.finished.cmp(&b.finished))
            .then(a.pick.cmp(&b.pick))
            .then(if a.finished {
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
/// faded, the finalists in colour with legend entries, the pick (the run the
/// other pictures draw as the best) widest, noted with `pick_note`.
fn draw_rung_paths<DB: DrawingBackend>(
    chart: &mut RungChart<'_, DB>,
    paths: &[RungPath],
    floor: f64,
    pick_note: &str,
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
        let pick = path.pick;
        let colour = Palette99::pick(i).to_rgba();
        let width = if pick { 3 } else { 2 };
        let last = path.points.last().map_or(f64::NAN, |p| p.1);
        let points = pinned(&path.points);
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(width)))?
            .label(if pick {
                format!("{}: {last:.4}, {pick_note}", path.label)
            } else {
                format!("{}: {last:.4}", path.label)
            })
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
    pick_note: &str,
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
        .x_label_formatter(&epoch_tick)
        .x_desc("epoch (log scale); runs below the bottom edge are drawn on it")
        .y_desc("valid_ll (nats per point)")
        .draw()?;
    let mut rungs: Vec<f64> = points(true).map(|p| p.0).collect();
    rungs.sort_by(f64::total_cmp);
    rungs.dedup();
    draw_rung_lines(&mut chart, &rungs, floor, upper + pad)?;
    draw_rung_paths(&mut chart, paths, floor, pick_note)?;
    draw_legend(&mut chart)
}

/// One point of the AIS picture: the error of log Z at one budget, with its bar.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ErrorPoint {
    /// chains x steps.
    budget: f64,
    mean: f64,
    low: f64,
    high: f64,
}

/// The AIS picture's points of one hidden size: forward and reverse error at each budget.
#[derive(Debug, Clone, PartialEq)]
struct AisLine {
    hidden: usize,
    runs: usize,
    forward: Vec<ErrorPoint>,
    reverse: Vec<ErrorPoint>,
}

/// The point of one budget from the errors and standard errors of the runs at it: their mean
/// with its 95% t-interval over the runs, or with one run its error -/+ its own standard error.
fn error_point(budget: f64, errors: &[(f64, f64)]) -> Option<ErrorPoint> {
    let values: Vec<f64> = errors.iter().map(|e| e.0).collect();
    let estimate = Estimate::of(&values)?;
    let (low, high) = match (estimate.ci, errors) {
        (Some(ci), _) => ci,
        (None, [(error, se)]) => (error - se, error + se),
        (None, _) => unreachable!("Estimate has an interval from two values on"),
    };
    Some(ErrorPoint {
        budget,
        mean: estimate.mean,
        low,
        high,
    })
}

/// The lines of the AIS picture of data set `dataset`: for each hidden size, over its finished
/// runs, the forward and the reverse AIS estimate's error (minus the grid's log Z) at each
/// budget of `[eval] ais_steps`, in budget order.
fn ais_lines(finished: &[&RunRecord], dataset: usize) -> Result<Vec<AisLine>, PlotError> {
    // (error, standard error) of each run, forward and reverse, by budget.
    type Errors = Vec<(f64, f64)>;
    type Budgets = BTreeMap<usize, (Errors, Errors)>;
    // The runs and their errors, by hidden size.
    let mut by_hidden: BTreeMap<usize, (usize, Budgets)> = BTreeMap::new();
    let mut logs = crate::sweep::journal::Details::default();
    for run in finished.iter().filter(|r| r.spec.dataset == dataset) {
        let Some(log_z) = run.result.and_then(|r| r.evaluation).map(|e| e.log_z) else {
            continue;
        };
        let details = logs.of(run)?;
        let ais = details.map(|d| d.ais).unwrap_or_default();
        if ais.is_empty() {
            continue;
        }
        let (runs, budgets) = by_hidden.entry(run.spec.train.hidden).or_default();
        *runs += 1;
        for a in ais {
            let (forward, reverse) = budgets.entry(a.chains * a.steps).or_default();
            forward.push((a.forward.log_z - log_z, a.forward.std_error));
            reverse.push((a.reverse.log_z - log_z, a.reverse.std_error));
        }
    }
    Ok(by_hidden
        .into_iter()
        .map(|(hidden, (runs, budgets))| {
            let points = |which: fn(&(Errors, Errors)) -> &Errors| {
                (budgets.iter())
                    .filter_map(|(budget, errors)| error_point(*budget as f64, which(errors)))
                    .collect()
            };
            AisLine {
                hidden,
                runs,
                forward: points(|e| &e.0),
                reverse: points(|e| &e.1),
            }
        })
        .collect())
}

/// `ais<suffix>`: AIS's and reverse AIS's error against the budget on data set `dataset`, when
/// the sweep measured AIS.
fn draw_ais(
    pictures: &mut Pictures,
    folder: &Folder,
    finished: &[&RunRecord],
    dataset: usize,
) -> Result<(), PlotError> {
    if !folder.experiment.eval.ais_on() {
        return Ok(());
    }
    let lines = ais_lines(finished, dataset)?;
    if lines.is_empty() {
        return Ok(());
    }
    let data = &folder.datasets[dataset];
    render!(
        *pictures,
        format!("ais{}", dataset_suffix(folder, dataset)),
        AIS_SIZE,
        ais_figure(&lines, data)
    );
    Ok(())
}

/// Two charts side by side, forward AIS and reverse AIS ([`ais_chart`]), on one scale.
fn ais_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    lines: &[AisLine],
    data: &Dataset,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let replicated = lines.iter().any(|l| l.runs > 1);
    let bars = if replicated {
        "mean over the runs of each hidden size, bars its 95% t-interval over them \
         (one run: its estimate -/+ its standard error)"
    } else {
        "each run's estimate, bars -/+ its standard error"
    };
    let title = [
        format!("{}: AIS log Z minus the grid's log Z, by budget", data.name),
        bars.to_string(),
    ];
    let body = titled_lines(root, &title, 17)?;
    let all = || {
        (lines.iter())
            .flat_map(|l| l.forward.iter().chain(&l.reverse))
            .copied()
    };
    let (min_budget, max_budget) = extent(all().map(|p| p.budget));
    let (low, high) = extent(all().flat_map(|p| [p.low, p.high]).chain([0.0]));
    let pad = 0.08 * (high - low).max(0.01);
    let y = (low - pad)..(high + pad);
    let x = (min_budget / 2.0)..(max_budget * 2.0);
    let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
    ais_chart(
        &left,
        "forward AIS (low on average)",
        lines,
        |l| &l.forward,
        &x,
        &y,
    )?;
    ais_chart(
        &right,
        "reverse AIS (high on average)",
        lines,
        |l| &l.reverse,
        &x,
        &y,
    )
}

/// One chart of the AIS picture: each line's points that `points` picks (error of log Z against
/// chains x steps, log axis), with their bars, and a black line at 0 (the grid's log Z).
fn ais_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    lines: &[AisLine],
    points: fn(&AisLine) -> &[ErrorPoint],
    x: &Range<f64>,
    y: &Range<f64>,
) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .caption(name, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x.clone().log_scale(), y.clone())?;
    let decades = libm::log10(x.end / x.start).floor() as usize;
    let ticks = move |v: &f64| log_tick(*v, decades < 2);
    // The tick at 0 comes out of plotters' steps a rounding error away from it.
    let span = y.end - y.start;
    let zero_tick = move |v: &f64| {
        if v.abs() < 1e-9 * span {
            "0".to_string()
        } else {
            short_number(*v)
        }
    };
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(10 * (decades + 2))
        .x_label_formatter(&ticks)
        .x_desc("chains x steps (log scale)")
        .y_label_formatter(&zero_tick)
        .y_desc("log Z error (nats)")
        .draw()?;
    chart.draw_series(LineSeries::new(
        [(x.start, 0.0), (x.end, 0.0)],
        BLACK.stroke_width(1),
    ))?;
    for (i, line) in lines.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        // The lines are spread a little sideways so that bars at one budget do not cover each
        // other: at most a factor 1.25 either way.
        let dodge = libm::pow(1.25, (i as f64 + 0.5) / lines.len() as f64 * 2.0 - 1.0);
        let at = |p: &ErrorPoint| p.budget * dodge;
        // A bar from low to high, with its mean as a dot.
        chart.draw_series(points(line).iter().map(|p| {
            PathElement::new(
                vec![(at(p), p.low), (at(p), p.high)],
                colour.stroke_width(2),
            )
        }))?;
        chart.draw_series(
            (points(line).iter()).map(|p| Circle::new((at(p), p.mean), 4, colour.filled())),
        )?;
        chart
            .draw_series(LineSeries::new(
                points(line).iter().map(|p| (at(p), p.mean)),
                colour.stroke_width(2),
            ))?
            .label(format!(
                "hidden = {} ({})",
                line.hidden,
                plural(line.runs, "run")
            ))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    draw_legend(&mut chart)
}

/// One run's checkpoint diagnostics as the picture draws them: (epoch, value) of the gradient
/// cosine, of the chains' energy distance and of its null level, and the run's name.
struct DiagnosticLines {
    cosine: Vec<(f64, f64)>,
    energy: Vec<(f64, f64)>,
    null: Vec<(f64, f64)>,
    name: String,
}

/// `diagnostics-<dataset>.png`: for the runs the curves picture highlights (`top`), the cosine
/// between the sampler's negative phase and the exact one, and the energy distance of its
/// chains to exact samples with its null level, along training. Drawn only where the
/// checkpoints have diagnostics.
fn draw_diagnostics(
    pictures: &mut Pictures,
    folder: &Folder,
    top: &[Candidate<'_>],
    dataset: usize,
) -> Result<(), PlotError> {
    let mut lines = Vec::new();
    for c in top {
        let curve = model_of(c.run)?.curve;
        let series = |g: &dyn Fn(&Diagnostics) -> Option<f64>| -> Vec<(f64, f64)> {
            (curve.iter())
                .filter_map(|p| Some((p.epoch as f64, g(p.diagnostics.as_ref()?)?)))
                .collect()
        };
        lines.push(DiagnosticLines {
            cosine: series(&|d| Some(d.grad_cosine)),
            energy: series(&|d| d.chain_energy),
            null: series(&|d| d.null_energy),
            name: run_name(&folder.experiment, &c.run.spec),
        });
    }
    if lines.iter().all(|l| l.cosine.is_empty()) {
        return Ok(());
    }
    let data = &folder.datasets[dataset];
    render!(
        *pictures,
        format!("diagnostics{}", dataset_suffix(folder, dataset)),
        DIAGNOSTICS_SIZE,
        diagnostics_figure(&lines, data)
    );
    Ok(())
}

/// The two charts of the diagnostics picture, on one epoch axis.
fn diagnostics_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    lines: &[DiagnosticLines],
    data: &Dataset,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let title = [
        format!("{}: how far each sampler is from the model during training", data.name),
        "the median seed of each configuration in the curves picture; exact = enumeration or the grid"
            .to_string(),
    ];
    let body = titled_lines(root, &title, 17)?;
    let all = |g: fn(&DiagnosticLines) -> &Vec<(f64, f64)>| {
        lines.iter().flat_map(move |l| g(l).iter().copied())
    };
    let (_, max_epoch) = extent(all(|l| &l.cosine).map(|p| p.0).chain([1.0]));
    let (low, _) = extent(all(|l| &l.cosine).map(|p| p.1).chain([1.0]));
    let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
    let cosine_low = low - 0.05 * (1.0 - low).max(0.01);
    let cosine_high = 1.0 + 0.05 * (1.0 - low).max(0.01);
    let x = 0.0..max_epoch;
    diagnostics_chart(
        &left,
        (
            "negative-phase gradient: cosine to the exact one",
            "grad_cosine",
        ),
        lines,
        |l| &l.cosine,
        (&x, &(cosine_low..cosine_high)),
        true,
    )?;
    let (_, e_high) = extent(all(|l| &l.energy).map(|p| p.1).chain([ENERGY_FLOOR * 10.0]));
    diagnostics_chart(
        &right,
        (
            "chains: energy distance to exact samples (grey: |null level|)",
            "chain_energy (log scale)",
        ),
        lines,
        |l| &l.energy,
        (&x, &(ENERGY_FLOOR..e_high * 2.0)),
        false,
    )
}

/// The lowest energy distance the picture shows, on its log axis: smaller values (noise around
/// 0, negative ones included) sit on it.
const ENERGY_FLOOR: f64 = 1e-3;

/// One chart of the diagnostics picture: each run's `points` against the epoch in colour; the
/// cosine chart (`cosine`) with the legend, the energy chart on a log axis with the runs' null
/// levels (their size) in grey dots.
fn diagnostics_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (name, y_desc): (&str, &str),
    lines: &[DiagnosticLines],
    points: fn(&DiagnosticLines) -> &Vec<(f64, f64)>,
    (x, y): (&Range<f64>, &Range<f64>),
    cosine: bool,
) -> DrawResult<DB> {
    let builder = || {
        let mut b = ChartBuilder::on(area);
        b.caption(name, ("sans-serif", 15))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60);
        b
    };
    if cosine {
        let mut chart = builder().build_cartesian_2d(x.clone(), y.clone())?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(epoch_labels(x.end))
            .x_label_formatter(&epoch_tick)
            .x_desc("epoch")
            .y_desc(y_desc)
            .draw()?;
        for (i, line) in lines.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    points(line).iter().copied(),
                    colour.stroke_width(2),
                ))?
                .label(&line.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        return draw_legend(&mut chart);
    }
    let mut chart = builder().build_cartesian_2d(x.clone(), y.clone().log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(epoch_labels(x.end))
        .x_label_formatter(&epoch_tick)
        .x_desc("epoch")
        .y_desc(y_desc)
        .y_label_formatter(&|v: &f64| short_number(*v))
        .draw()?;
    let floored = |(e, v): (f64, f64)| (e, v.max(ENERGY_FLOOR));
    for (i, line) in lines.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        let grey = RGBColor(150, 150, 150);
        let nulls = line.null.iter().map(|&(e, v)| floored((e, v.abs())));
        chart.draw_series(nulls.map(|p| Circle::new(p, 3, grey.filled())))?;
        let energy = points(line).iter().map(|&p| floored(p));
        chart.draw_series(LineSeries::new(energy, colour.stroke_width(2)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    /// The epoch axis is labelled in whole epochs: every tick plotters places on 0..max_epoch is
    /// an integer (at most one per epoch), and its label has no ".0".
    #[test]
    fn epoch_ticks_are_whole_epochs() {
        use plotters::coord::ranged1d::Ranged;
        for max_epoch in 1..=400 {
            let max_epoch = f64::from(max_epoch);
            let axis = RangedCoordf64::from(0.0..max_epoch);
            let ticks = axis.key_points(epoch_labels(max_epoch));
            assert!(ticks.len() >= 2, "{max_epoch}: {ticks:?}");
            assert!(
                ticks.iter().all(|t| t.fract() == 0.0),
                "{max_epoch}: {ticks:?}"
            );
        }
        assert_eq!(
            [0.0, 5.0, 10.0, 250.0].map(|e| epoch_tick(&e)),
            ["0", "5", "10", "250"]
        );
    }
    use super::*;
    use crate::sweep::record::measured;

    /// A point of the AIS picture is the mean error of its runs with their 95% t-interval, or
    /// with one run that run's error -/+ its own standard error.
    #[test]
    fn ais_points_are_means_with_t_intervals_or_one_run_with_its_standard_error() {
        let one = error_point(1000.0, &[(0.3, 0.1)]).unwrap();
        assert_eq!((one.mean, one.low, one.high), (0.3, 0.3 - 0.1, 0.3 + 0.1));
        let errors = [(0.1, 0.5), (0.4, 0.5), (-0.2, 0.5)];
        let three = error_point(1000.0, &errors).unwrap();
        let estimate = Estimate::of(&[0.1, 0.4, -0.2]).unwrap();
        assert_eq!(
            (three.mean, three.low, three.high),
            (
                estimate.mean,
                estimate.ci.unwrap().0,
                estimate.ci.unwrap().1
            )
        );
        assert!(error_point(1000.0, &[]).is_none());
    }
    /// A slice of 5000 points keeps MAX_SLICE_POINTS of them, in their order, the best among
    /// them, spread over the whole range of values (the lowest and highest kept, and every
    /// tenth of the range holding about a tenth of the points kept, as it does of all).
    #[test]
    fn a_slice_of_many_points_keeps_the_best_and_the_spread_of_values() {
        let n = 5000;
        // Values in a scrambled order, so that keeping the first points would not spread them.
        let points: Vec<SlicePoint> = (0..n)
            .map(|i| SlicePoint {
                value: ParamValue::Int((i * 7919 % n) as i64),
                valid_ll: Estimate::of(&[-(i as f64)]).unwrap(),
                pruned: false,
            })
            .collect();
        let best = 1234;
        let kept = thinned(points.clone(), Some(best));
        assert!(kept.len() <= MAX_SLICE_POINTS && kept.len() >= MAX_SLICE_POINTS - 1);
        let index = |p: &SlicePoint| -p.valid_ll.mean as usize;
        assert!(kept.iter().any(|p| index(p) == best), "the best is dropped");
        assert!(
            kept.windows(2).all(|w| index(&w[0]) < index(&w[1])),
            "order changed"
        );
        let values: Vec<i64> = kept
            .iter()
            .map(|p| match p.value {
                ParamValue::Int(v) => v,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(values.iter().min(), Some(&0));
        assert!(*values.iter().max().unwrap() >= n as i64 - 3);
        for tenth in 0..10 {
            let range = (tenth * n / 10) as i64..((tenth + 1) * n / 10) as i64;
            let inside = values.iter().filter(|v| range.contains(v)).count();
            assert!((195..=205).contains(&inside), "{tenth}: {inside}");
        }
        // Few points are all kept.
        assert_eq!(thinned(points[..10].to_vec(), None).len(), 10);
    }

    use crate::train::params::{Setting, TrainConfig};

    /// A run of `hidden` units and `k` Gibbs steps on seed `seed` that measured `lls`
    /// (valid_ll, test_ll), or failed without them.
    fn record(hidden: usize, k: usize, seed: u64, lls: Option<(f64, f64)>) -> RunRecord {
        let config_id = format!("h{hidden}-k{k}");
        let spec = RunSpec {
            index: 0,
            run_id: format!("{config_id}-s{seed}"),
            config_id,
            dataset: 0,
            train: TrainConfig {
                hidden,
                k,
                seed,
                ..TrainConfig::default()
            },
        };
        measured(spec, lls)
    }

    /// Two seeds of hidden 16 (listed first) and 8, each with k 1 and 2, and a failed hidden 4.
    /// In the hidden 16 cell, k = 1 has the best single run (seed 0) but k = 2 the best mean.
    fn sweep() -> Vec<RunRecord> {
        vec![
            record(16, 1, 0, Some((-3.8, -3.9))),
            record(16, 1, 1, Some((-4.4, -4.5))),
            record(16, 2, 0, Some((-4.0, -4.02))),
            record(16, 2, 1, Some((-4.02, -4.06))),
            record(8, 1, 0, Some((-4.3, -4.3))),
            record(8, 1, 1, Some((-4.5, -4.6))),
            record(8, 2, 0, Some((-4.6, -4.7))),
            record(8, 2, 1, Some((-4.7, -4.8))),
            record(4, 1, 0, None),
        ]
    }

    /// The hidden-by-lr heat map of `records` (all at one lr): the values of hidden and each
    /// cell's value and note, `None` for an empty cell.
    fn cells_of(
        records: &[RunRecord],
        ranked: Ranked,
    ) -> (Vec<String>, Vec<Option<(f64, String)>>) {
        let finished: Vec<&RunRecord> = records.iter().filter(|r| r.test_ll().is_some()).collect();
        let data = Dataset {
            name: "d".into(),
            train: Vec::new(),
            valid: Vec::new(),
            test: Vec::new(),
            true_ll: None,
            columns: None,
        };
        let configs = configs(records, &[data], 2);
        let candidates = ranked_candidates(&configs, &finished, 1, ranked);
        let specs: Vec<&RunSpec> = records.iter().map(|r| &*r.spec).collect();
        let cells = GridCells::collect(&specs, &candidates[0], "hidden", "lr");
        let values = cells.values_a.iter().map(|v| v.to_string()).collect();
        let shown = cells
            .best
            .iter()
            .map(|row| row[0].map(|c| (c.test_ll.mean, cell_note(c))))
            .collect();
        (values, shown)
    }

    #[test]
    fn a_cell_shows_the_mean_test_ll_of_its_best_configuration_by_mean_valid_ll() {
        let (values, cells) = cells_of(&sweep(), Ranked::Configs);
        assert_eq!(values, ["4", "8", "16"], "numbers sorted by value");
        assert_eq!(
            cells[0], None,
            "hidden 4 has no finished run: an empty cell"
        );
        let (value, note) = cells[2].clone().unwrap();
        assert!((value - (-4.02 + -4.06) / 2.0).abs() < 1e-12, "{value}");
        assert_eq!(note, "2 seeds");
        let (value, _) = cells[1].clone().unwrap();
        assert!((value - (-4.3 + -4.6) / 2.0).abs() < 1e-12, "{value}");

        // --by-run: the cell's best single run, seed 0 of k = 1.
        let (_, cells) = cells_of(&sweep(), Ranked::Runs);
        assert_eq!(cells[2], Some((-3.9, "seed 0".to_string())));
    }

    #[test]
    fn the_lowest_cell_is_not_coloured_like_an_empty_one() {
        let scale = ColourScale::over([-4.0, -3.0].into_iter()).unwrap();
        assert_eq!(scale.colour(-4.0), ViridisRGB::get_color(0.0));
        for t in 0..=100 {
            let colour = ViridisRGB::get_color(t as f64 / 100.0);
            assert_ne!(
                colour, EMPTY_CELL,
                "an empty cell looks like a value at {t}%"
            );
        }
        let one = ColourScale::over([-4.0].into_iter()).unwrap();
        assert!(
            (one.position(-4.0) - 0.5).abs() < 1e-9,
            "a lone value takes the middle"
        );
        assert!(ColourScale::over(std::iter::empty()).is_none());
    }

    #[test]
    fn a_slice_is_logarithmic_for_log_uniform_draws_and_lists_spanning_a_factor_of_ten() {
        let lr =
            |values: &[f64]| AxisValues::List(values.iter().map(|v| Setting::Lr(*v)).collect());
        let drawn = [ParamValue::Float(0.01)];
        let log_uniform = AxisValues::LogUniform {
            low: 0.001,
            high: 0.1,
        };
        assert_eq!(slice_scale(&log_uniform, &drawn), Scale::Log);
        assert_eq!(slice_scale(&lr(&[0.001, 0.01]), &drawn), Scale::Log);
        assert_eq!(slice_scale(&lr(&[0.002, 0.01]), &drawn), Scale::Linear);
        let uniform = AxisValues::Uniform {
            low: 0.001,
            high: 0.1,
        };
        assert_eq!(slice_scale(&uniform, &drawn), Scale::Linear);
        let hidden = AxisValues::RandInt { low: 2, high: 100 };
        assert_eq!(slice_scale(&hidden, &[ParamValue::Int(3)]), Scale::Linear);
        assert!(
            !spans_a_decade([0.0, 1.0, 100.0].into_iter()),
            "not all positive"
        );
        let samplers = [
            ParamValue::Text("pcd"),
            ParamValue::Text("cd"),
            ParamValue::Text("pcd"),
        ];
        assert_eq!(
            slice_scale(&AxisValues::List(Vec::new()), &samplers),
            Scale::Categories(vec![ParamValue::Text("cd"), ParamValue::Text("pcd")])
        );
    }

    #[test]
    fn log_ticks_read_as_the_round_numbers_they_stand_for() {
        assert_eq!(log_tick(0.0020000000000000005, true), "0.002");
        assert_eq!(log_tick(0.0020000000000000005, false), "");
        assert_eq!(log_tick(0.003, true), "");
        assert_eq!(log_tick(0.010000000000000002, false), "0.01");
        assert_eq!(log_tick(100.0, false), "100");
        assert_eq!(short_number(7.0), "7");
    }
}
