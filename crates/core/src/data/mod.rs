//! The points a sweep trains and tests on: built-in generators with their exact densities, and CSV/Parquet files, split by `[data] seed`.

pub mod baseline;
pub mod densities;

use crate::identity::Field;
use crate::rng::{Purpose, standard_normal, stream};
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64;
use std::path::{Path, PathBuf};

/// Where one data set comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// A built-in generator, named by the label.
    Generator,
    /// A .csv or .parquet file, resolved against the experiment file's folder.
    File(PathBuf),
}

/// One entry of `[data] source`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    /// As written in the experiment file; the `dataset` column of every table.
    pub label: String,
    pub kind: SourceKind,
}

/// The `[data]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct DataConfig {
    /// One or more data sets; several make the data set an axis of the grid (the outermost).
    pub sources: Vec<DataSource>,
    /// Generators only.
    pub n_train: usize,
    /// Generators only.
    pub n_test: usize,
    /// Generators only: validation points, drawn after the train and test points.
    pub n_valid: usize,
    pub seed: u64,
    /// Files only: the two point columns; `None` = the file's two numeric columns (a file with
    /// more is refused).
    pub columns: Option<[String; 2]>,
    /// Files only: the share of a file's rows held out for testing (ignored with `test_source`).
    pub test_fraction: f64,
    /// Files only: a separate file of test points.
    pub test_source: Option<DataFile>,
    /// Files only: the share of the rows (of the training file, with `test_source`) held out for
    /// validation, taken from what would otherwise be training rows.
    pub valid_fraction: f64,
}

/// A data file as the experiment file names it, and where that is.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    /// As written in the experiment file.
    pub label: String,
    /// Resolved against the experiment file's folder.
    pub path: PathBuf,
}

impl Default for DataConfig {
    /// No source yet, and the defaults of every other key.
    fn default() -> Self {
        DataConfig {
            sources: Vec::new(),
            n_train: 10000,
            n_test: 2000,
            seed: 0,
            columns: None,
            test_fraction: 0.2,
            test_source: None,
            n_valid: 2000,
            valid_fraction: 0.1,
        }
    }
}

impl DataConfig {
    /// The whole section, values as written, for telling whether a results folder was computed on it.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        let labels = self.sources.iter().map(|s| Field::text(&s.label)).collect();
        vec![
            ("source", Field::List(labels)),
            ("n_train", Field::Int(self.n_train as i64)),
            ("n_test", Field::Int(self.n_test as i64)),
            ("n_valid", Field::Int(self.n_valid as i64)),
            ("seed", Field::Int(self.seed as i64)),
            ("columns", self.columns_field()),
            ("test_fraction", Field::Float(self.test_fraction)),
            ("test_source", self.test_source_field()),
            ("valid_fraction", Field::Float(self.valid_fraction)),
        ]
    }

    fn columns_field(&self) -> Field {
        self.columns.as_ref().map_or(Field::Unset, |c| {
            Field::List(c.iter().map(Field::text).collect())
        })
    }

    fn test_source_field(&self) -> Field {
        self.test_source
            .as_ref()
            .map_or(Field::Unset, |t| Field::text(&t.label))
    }

    /// What identifies data set `index` as the runs see it (part of every run id): the keys that
    /// shape its points, with file paths as written, so the id does not depend on where it runs.
    pub fn identity(&self, index: usize) -> Vec<(&'static str, Field)> {
        let source = &self.sources[index];
        let seed = ("seed", Field::Int(self.seed as i64));
        match &source.kind {
            SourceKind::Generator => vec![
                ("source", Field::text(&source.label)),
                ("n_train", Field::Int(self.n_train as i64)),
                ("n_test", Field::Int(self.n_test as i64)),
                ("n_valid", Field::Int(self.n_valid as i64)),
                seed,
            ],
            SourceKind::File(_) => vec![
                ("source", Field::text(&source.label)),
                ("columns", self.columns_field()),
                ("test_fraction", Field::Float(self.test_fraction)),
                ("test_source", self.test_source_field()),
                ("valid_fraction", Field::Float(self.valid_fraction)),
                seed,
            ],
        }
    }
}

/// A mixture of axis-aligned Gaussians in 2-D, with its exact log density.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    pub weights: Vec<f64>,
    pub means: Vec<[f64; 2]>,
    /// Per-axis standard deviations of each component.
    pub stds: Vec<[f64; 2]>,
}

impl GaussianMixture {
    /// The three-Gaussian sets `gmm_iso` and `gmm_aniso`: weights 0.33/0.33/0.34 and means (-5,-5), (5,-5), (0,5).
    fn three_blobs(stds: [[f64; 2]; 3]) -> Self {
        GaussianMixture {
            weights: vec![0.33, 0.33, 0.34],
            means: vec![[-5.0, -5.0], [5.0, -5.0], [0.0, 5.0]],
            stds: stds.to_vec(),
        }
    }

    /// Eight equal Gaussians on a circle of radius 2 sqrt(2), standard deviation 0.5 / sqrt(2).
    fn eight_gaussians() -> Self {
        let means = (0..8)
            .map(|k| {
                let angle = k as f64 * std::f64::consts::FRAC_PI_4;
                [
                    2.0 * 2f64.sqrt() * libm::cos(angle),
                    2.0 * 2f64.sqrt() * libm::sin(angle),
                ]
            })
            .collect();
        GaussianMixture {
            weights: vec![0.125; 8],
            means,
            stds: vec![[0.5 / 2f64.sqrt(); 2]; 8],
        }
    }

    pub fn log_density(&self, x: [f64; 2]) -> f64 {
        let terms: Vec<f64> = (0..self.weights.len())
            .map(|k| {
                let mut log_p = libm::log(self.weights[k]);
                for i in 0..2 {
                    let z = (x[i] - self.means[k][i]) / self.stds[k][i];
                    log_p -= 0.5 * z * z
                        + libm::log(self.stds[k][i])
                        + 0.5 * libm::log(2.0 * std::f64::consts::PI);
                }
                log_p
            })
            .collect();
        crate::vecmath::log_sum_exp(&terms)
    }

    pub fn sample(&self, rng: &mut Pcg64) -> [f64; 2] {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut k = self.weights.len() - 1;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                k = i;
                break;
            }
        }
        let n1 = standard_normal(rng);
        let n2 = standard_normal(rng);
        [
            self.means[k][0] + self.stds[k][0] * n1,
            self.means[k][1] + self.stds[k][1] * n2,
        ]
    }
}

/// The built-in generators, as named in `[data] source`.
pub const GENERATORS: [&str; 9] = [
    "gmm_iso",
    "gmm_aniso",
    "eight_gaussians",
    "two_moons",
    "rings",
    "checkerboard",
    "pinwheel",
    "two_spirals",
    "swiss_roll",
];

/// A built-in generator: the usual 2-D density-estimation toy sets.
#[derive(Debug, Clone, PartialEq)]
pub enum Generator {
    Mixture(GaussianMixture),
    /// Two interleaved half circles of radius 1, Gaussian noise 0.1, centred at the origin.
    TwoMoons,
    /// Four concentric circles of radius 0.5, 1, 1.5 and 2 (equal shares), radial noise 0.08.
    Rings,
    /// Uniform on the 8 dark squares (side 2) of a 4 x 4 board covering [-4, 4]^2: density 1/32 there.
    Checkerboard,
    /// Five arms: radial N(1, 0.3^2), tangential N(0, 0.1^2), bent by 0.25 exp(radial), scaled by 2.
    Pinwheel,
    /// Two interleaved Archimedean spirals (up to 1.5 turns), scaled by 1/3, noise 0.1.
    TwoSpirals,
    /// The (x, z) plane of the Swiss roll: t = 1.5 pi (1 + 2u), (t cos t, t sin t) + N(0, 1), scaled by 1/5.
    SwissRoll,
}

impl Generator {
    pub fn by_name(name: &str) -> Option<Generator> {
        Some(match name {
            "gmm_iso" => Generator::Mixture(GaussianMixture::three_blobs([[1.0, 1.0]; 3])),
            "gmm_aniso" => Generator::Mixture(GaussianMixture::three_blobs([
                [1.25, 0.5],
                [1.25, 0.5],
                [0.5, 1.25],
            ])),
            "eight_gaussians" => Generator::Mixture(GaussianMixture::eight_gaussians()),
            "two_moons" => Generator::TwoMoons,
            "rings" => Generator::Rings,
            "checkerboard" => Generator::Checkerboard,
            "pinwheel" => Generator::Pinwheel,
            "two_spirals" => Generator::TwoSpirals,
            "swiss_roll" => Generator::SwissRoll,
            _ => return None,
        })
    }

    /// `count` points from the stream of `[data] seed = seed`, in the order a sweep draws them.
    pub fn draw(&self, count: usize, seed: u64) -> Vec<[f64; 2]> {
        let mut rng = stream(seed, Purpose::Data);
        (0..count).map(|_| self.sample(&mut rng)).collect()
    }

    pub fn sample(&self, rng: &mut Pcg64) -> [f64; 2] {
        use std::f64::consts::PI;
        let normal = standard_normal;
        match self {
            Generator::Mixture(m) => m.sample(rng),
            Generator::TwoMoons => {
                let t = PI * rng.random::<f64>();
                let upper = rng.random::<bool>();
                let (x, y) = if upper {
                    (libm::cos(t), libm::sin(t))
                } else {
                    (1.0 - libm::cos(t), 0.5 - libm::sin(t))
                };
                [x - 0.5 + 0.1 * normal(rng), y - 0.25 + 0.1 * normal(rng)]
            }
            Generator::Rings => {
                let radius = 0.5 * (1 + rng.random_range(0..4)) as f64 + 0.08 * normal(rng);
                let angle = 2.0 * PI * rng.random::<f64>();
                [radius * libm::cos(angle), radius * libm::sin(angle)]
            }
            Generator::Checkerboard => {
                let x1 = -4.0 + 8.0 * rng.random::<f64>();
                let column = (x1 / 2.0).floor() as i64;
                // Dark squares have an even column + row; pick one of the two rows of matching parity.
                let row =
                    if column.rem_euclid(2) == 0 { -2 } else { -1 } + 2 * rng.random_range(0..2i64);
                [x1, 2.0 * row as f64 + 2.0 * rng.random::<f64>()]
            }
            Generator::Pinwheel => {
                let arm = rng.random_range(0..5) as f64;
                let radial = 1.0 + 0.3 * normal(rng);
                let tangential = 0.1 * normal(rng);
                let angle = arm * 2.0 * PI / 5.0 + 0.25 * libm::exp(radial);
                let (s, c) = libm::sincos(angle);
                [
                    2.0 * (c * radial - s * tangential),
                    2.0 * (s * radial + c * tangential),
                ]
            }
            Generator::TwoSpirals => {
                let n = rng.random::<f64>().sqrt() * 540.0 * 2.0 * PI / 360.0;
                let x = -libm::cos(n) * n + 0.5 * rng.random::<f64>();
                let y = libm::sin(n) * n + 0.5 * rng.random::<f64>();
                let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                [
                    sign * x / 3.0 + 0.1 * normal(rng),
                    sign * y / 3.0 + 0.1 * normal(rng),
                ]
            }
            Generator::SwissRoll => {
                let t = 1.5 * PI * (1.0 + 2.0 * rng.random::<f64>());
                [
                    (t * libm::cos(t) + normal(rng)) / 5.0,
                    (t * libm::sin(t) + normal(rng)) / 5.0,
                ]
            }
        }
    }

    /// The exact log density: in closed form for the mixtures, the checkerboard and the rings, by
    /// quadrature or by inverting the map for the others (`densities`, which states each accuracy).
    /// `Some` for every generator.
    pub fn log_density(&self, x: [f64; 2]) -> Option<f64> {
        match self {
            Generator::Mixture(m) => Some(m.log_density(x)),
            Generator::Checkerboard => {
                let inside = x.iter().all(|v| (-4.0..4.0).contains(v));
                let dark =
                    ((x[0] / 2.0).floor() as i64 + (x[1] / 2.0).floor() as i64).rem_euclid(2) == 0;
                Some(if inside && dark {
                    -libm::log(32.0)
                } else {
                    f64::NEG_INFINITY
                })
            }
            Generator::TwoMoons => Some(densities::two_moons(x)),
            Generator::Rings => Some(densities::rings(x)),
            Generator::Pinwheel => Some(densities::pinwheel(x)),
            Generator::TwoSpirals => Some(densities::two_spirals(x)),
            Generator::SwissRoll => Some(densities::swiss_roll(x)),
        }
    }
}

/// An error reading a data file, naming the file and, where it applies, the column and the first bad row.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read data file {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("data file {path} has no data rows")]
    Empty { path: PathBuf },
    #[error("data file {path} has no column `{column}` (columns: {available})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error(
        "data file {path} has fewer than two numeric columns (columns: {available}); name them with `columns`"
    )]
    NoNumericColumns { path: PathBuf, available: String },
    /// Which two of three or more numeric columns hold the points is the user's to say: taking
    /// the first two trains on, say, a label column.
    #[error(
        "data file {path} has {count} numeric columns ({list}) and no `columns` key in [data]: \
         name the two point columns, e.g. columns = [{example}]",
        count = .numeric.len(),
        list = .numeric.join(", "),
        example = last_two_quoted(.numeric)
    )]
    ManyNumericColumns { path: PathBuf, numeric: Vec<String> },
    #[error("data file {path}, column `{column}`, row {row}: {problem}")]
    BadCell {
        path: PathBuf,
        column: String,
        row: usize,
        problem: String,
    },
    #[error(
        "data file {path}: test_fraction {test_fraction} and valid_fraction {valid_fraction} of its {rows} rows leave {train} training, {valid} validation and {test} test points; each must be at least 1"
    )]
    Split {
        path: PathBuf,
        rows: usize,
        test_fraction: f64,
        valid_fraction: f64,
        train: usize,
        valid: usize,
        test: usize,
    },
    #[error(
        "data file {path}: valid_fraction {valid_fraction} of its {rows} rows leaves {train} training and {valid} validation points (the test points come from test_source); both must be at least 1"
    )]
    ValidSplit {
        path: PathBuf,
        rows: usize,
        valid_fraction: f64,
        train: usize,
        valid: usize,
    },
}

/// The last two of `names` as a TOML list's items (JSON strings are TOML strings): the example of
/// a refusal, since point columns tend to come after labels and ids.
fn last_two_quoted(names: &[String]) -> String {
    names[names.len().saturating_sub(2)..]
        .iter()
        .map(|n| serde_json::to_string(n).expect("a string serializes"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The points of one data set, split into train, validation and test.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The source as written in the experiment file.
    pub name: String,
    pub train: Vec<[f64; 2]>,
    /// Held out from training like the test points; runs are ranked by these, so that the test
    /// points stay an unbiased measure of the chosen run.
    pub valid: Vec<[f64; 2]>,
    pub test: Vec<[f64; 2]>,
    /// Mean log density of the test points under the distribution that drew them, where known.
    pub true_ll: Option<f64>,
    /// A file's two point columns, as its header names them (of the training file, with
    /// `test_source`); `None` for a generator.
    pub columns: Option<[String; 2]>,
}

impl Dataset {
    /// The data set of `config.sources[index]`, drawn or read and split from `[data] seed` alone.
    pub fn load(config: &DataConfig, index: usize) -> Result<Dataset, DataError> {
        let source = &config.sources[index];
        match &source.kind {
            SourceKind::Generator => Ok(Self::generate(&source.label, config)),
            SourceKind::File(path) => {
                let (columns, (train, valid, test)) = split_file(path, config)?;
                Ok(Dataset {
                    name: source.label.clone(),
                    train,
                    valid,
                    test,
                    true_ll: None,
                    columns: Some(columns),
                })
            }
        }
    }

    /// Draws `n_train + n_test + n_valid` points from the generator `name`, from `[data] seed`
    /// alone. The validation points come last in the stream, so the train and test points are the
    /// same whatever `n_valid` is.
    fn generate(name: &str, config: &DataConfig) -> Dataset {
        let generator =
            Generator::by_name(name).expect("generator names are checked when the file is read");
        let (n_train, n_test) = (config.n_train, config.n_test);
        let mut train = generator.draw(n_train + n_test + config.n_valid, config.seed);
        let valid = train.split_off(n_train + n_test);
        let test = train.split_off(n_train);
        let true_ll = test
            .iter()
            .map(|x| generator.log_density(*x))
            .sum::<Option<f64>>()
            .map(|total| total / test.len() as f64);
        Dataset {
            name: name.to_string(),
            train,
            valid,
            test,
            true_ll,
            columns: None,
        }
    }

    /// Per-axis mean and standard deviation of the training points (population variance).
    pub fn train_moments(&self) -> ([f64; 2], [f64; 2]) {
        moments(&self.train)
    }
}

/// The first `count` points the generator `name` draws from `[data] seed = seed`: a sweep's
/// training points (`count` = `n_train`), then its test points, then its validation points.
/// `None` for a name that is not a generator's.
pub fn generate(name: &str, count: usize, seed: u64) -> Option<Vec<[f64; 2]>> {
    Generator::by_name(name).map(|g| g.draw(count, seed))
}

/// Train, validation and test points of one data set.
type Split = (Vec<[f64; 2]>, Vec<[f64; 2]>, Vec<[f64; 2]>);

/// Splits the rows of data file `path`. The rows are shuffled by `[data] seed`; the test points
/// are the last `round(rows * test_fraction)` of that order (or all of `test_source`) and the
/// validation points the `round(rows * valid_fraction)` just before them. So the test points are
/// those a split without validation takes, and only the training points give way. Also the
/// names of the point columns of `path`.
fn split_file(path: &Path, config: &DataConfig) -> Result<([String; 2], Split), DataError> {
    let (columns, mut points) = read_points(path, config.columns.as_ref())?;
    let rows = points.len();
    let share = |fraction: f64| (rows as f64 * fraction).round() as usize;
    let n_valid = share(config.valid_fraction);
    points.shuffle(&mut stream(config.seed, Purpose::Data));
    let test = match &config.test_source {
        Some(test_file) => {
            if n_valid == 0 || n_valid >= rows {
                return Err(DataError::ValidSplit {
                    path: path.to_path_buf(),
                    rows,
                    valid_fraction: config.valid_fraction,
                    train: rows.saturating_sub(n_valid),
                    valid: n_valid,
                });
            }
            read_points(&test_file.path, config.columns.as_ref())?.1
        }
        None => {
            let n_test = share(config.test_fraction);
            if n_test == 0 || n_valid == 0 || n_test + n_valid >= rows {
                return Err(DataError::Split {
                    path: path.to_path_buf(),
                    rows,
                    test_fraction: config.test_fraction,
                    valid_fraction: config.valid_fraction,
                    train: rows.saturating_sub(n_test + n_valid),
                    valid: n_valid.min(rows.saturating_sub(n_test)),
                    test: n_test,
                });
            }
            points.split_off(rows - n_test)
        }
    };
    let valid = points.split_off(points.len() - n_valid);
    Ok((columns, (points, valid, test)))
}

/// Reads the two point columns of a `.csv` or `.parquet` file: their names and the points.
pub fn read_points(
    path: &Path,
    columns: Option<&[String; 2]>,
) -> Result<([String; 2], Vec<[f64; 2]>), DataError> {
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let chosen = if is_parquet {
        parquet_point_columns(path, columns)?
    } else {
        csv_point_columns(path, columns)?
    };
    let rows = chosen[0].1.len();
    let mut points = vec![[0.0; 2]; rows];
    for (axis, (name, cells)) in chosen.iter().enumerate() {
        for (row, cell) in cells.iter().enumerate() {
            let bad = |problem: String| DataError::BadCell {
                path: path.to_path_buf(),
                column: name.clone(),
                row: row + 1,
                problem,
            };
            points[row][axis] = match cell {
                Cell::Number(v) if v.is_finite() => *v,
                Cell::Number(v) => return Err(bad(format!("{v} is not a finite number"))),
                Cell::Missing => return Err(bad("the cell is empty".into())),
                Cell::Text(t) => return Err(bad(format!("\"{t}\" is not a number"))),
            };
        }
    }
    let [(x, _), (y, _)] = chosen;
    Ok(([x, y], points))
}

/// One cell of a data file, before the point columns are chosen.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Number(f64),
    Text(String),
    Missing,
}

/// The two point columns of a data file: each one's name and cells, rows in file order.
type PointColumns = [(String, Vec<Cell>); 2];

/// The positions among `names` of the two point columns: those named in `wanted`, else the two
/// for which `is_number` holds (more than two is refused: which two is the user's to say).
fn choose_columns(
    path: &Path,
    names: &[String],
    wanted: Option<&[String; 2]>,
    is_number: impl Fn(usize) -> bool,
) -> Result<[usize; 2], DataError> {
    let available = || names.join(", ");
    match wanted {
        Some(wanted) => {
            let find = |w: &String| {
                names
                    .iter()
                    .position(|n| n == w)
                    .ok_or_else(|| DataError::MissingColumn {
                        path: path.to_path_buf(),
                        column: w.clone(),
                        available: available(),
                    })
            };
            Ok([find(&wanted[0])?, find(&wanted[1])?])
        }
        None => {
            let numeric: Vec<usize> = (0..names.len()).filter(|&c| is_number(c)).collect();
            match numeric[..] {
                [a, b] => Ok([a, b]),
                [_, _, _, ..] => Err(DataError::ManyNumericColumns {
                    path: path.to_path_buf(),
                    numeric: numeric.iter().map(|&c| names[c].clone()).collect(),
                }),
                _ => Err(DataError::NoNumericColumns {
                    path: path.to_path_buf(),
                    available: available(),
                }),
            }
        }
    }
}

/// A CSV file with a header line; cells separated by commas. Rows are numbered from 1 after the
/// header. Without `columns`, the point columns are the two whose first cell is a number.
fn csv_point_columns(path: &Path, wanted: Option<&[String; 2]>) -> Result<PointColumns, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let empty = || DataError::Empty {
        path: path.to_path_buf(),
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or_else(empty)?;
    let unquote = |s: &str| s.trim().trim_matches('"').to_string();
    let names: Vec<String> = header.split(',').map(unquote).collect();
    let mut cells: Vec<Vec<Cell>> = vec![Vec::new(); names.len()];
    for line in lines {
        let mut fields = line.split(',').map(unquote);
        for column in cells.iter_mut() {
            column.push(match fields.next() {
                None => Cell::Missing,
                Some(f) if f.is_empty() => Cell::Missing,
                Some(f) => f.parse::<f64>().map(Cell::Number).unwrap_or(Cell::Text(f)),
            });
        }
    }
    if cells[0].is_empty() {
        return Err(empty());
    }
    let chosen = choose_columns(path, &names, wanted, |c| {
        matches!(cells[c][0], Cell::Number(_))
    })?;
    Ok(chosen.map(|c| (names[c].clone(), std::mem::take(&mut cells[c]))))
}

/// Without the `parquet` feature (the Python module's build): a Parquet file is refused.
#[cfg(not(feature = "parquet"))]
fn parquet_point_columns(
    path: &Path,
    _wanted: Option<&[String; 2]>,
) -> Result<PointColumns, DataError> {
    Err(DataError::Read {
        path: path.to_path_buf(),
        message: "this build reads CSV data files only (grbm-core without its `parquet` feature)"
            .to_string(),
    })
}

/// A Parquet file. Without `columns`, the point columns are the two of a numeric type. Only
/// those two are read, so the file's other columns may be of any type.
#[cfg(feature = "parquet")]
fn parquet_point_columns(
    path: &Path,
    wanted: Option<&[String; 2]>,
) -> Result<PointColumns, DataError> {
    use polars_core::prelude::*;
    use polars_io::prelude::*;
    let read_err = |message: String| DataError::Read {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| read_err(e.to_string()))?;
    let mut reader = ParquetReader::new(file);
    let schema = reader.schema().map_err(|e| read_err(e.to_string()))?;
    if reader.num_rows().map_err(|e| read_err(e.to_string()))? == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let fields: Vec<(String, ArrowDataType)> = schema
        .iter()
        .map(|(name, field)| (name.to_string(), field.dtype().clone()))
        .collect();
    let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
    let chosen = choose_columns(path, &names, wanted, |c| fields[c].1.is_numeric())?;
    for c in chosen {
        // What this build of polars (trimmed to the types grbm-sweep writes) turns into columns.
        use ArrowDataType::*;
        let readable = matches!(
            fields[c].1,
            Int32 | Int64 | UInt32 | UInt64 | Float32 | Float64 | Utf8 | LargeUtf8 | Utf8View
        );
        if !readable {
            return Err(read_err(format!(
                "column `{}` holds {:?} values; point columns must be 32- or 64-bit integers or floats \
                 (convert it, or name other columns with `columns`)",
                fields[c].0, fields[c].1
            )));
        }
    }
    let df = reader
        .with_columns(Some(chosen.iter().map(|&c| names[c].clone()).collect()))
        .finish()
        .map_err(|e| read_err(e.to_string()))?;
    let cells = |name: &str| -> Result<Vec<Cell>, DataError> {
        let column = df
            .column(name)
            .map_err(|e| read_err(e.to_string()))?
            .as_materialized_series();
        if column.dtype().is_primitive_numeric() {
            let floats = column
                .cast(&DataType::Float64)
                .map_err(|e| read_err(e.to_string()))?;
            let floats = floats.f64().map_err(|e| read_err(e.to_string()))?;
            Ok(floats
                .iter()
                .map(|v| v.map_or(Cell::Missing, Cell::Number))
                .collect())
        } else {
            let text = column.str().map_err(|e| read_err(e.to_string()))?;
            Ok(text
                .iter()
                .map(|t| t.map_or(Cell::Missing, |t| Cell::Text(t.to_string())))
                .collect())
        }
    };
    let [a, b] = chosen.map(|c| names[c].clone());
    Ok([(a.clone(), cells(&a)?), (b.clone(), cells(&b)?)])
}

pub fn moments(points: &[[f64; 2]]) -> ([f64; 2], [f64; 2]) {
    let n = points.len() as f64;
    let mut mean = [0.0; 2];
    let mut std = [0.0; 2];
    for i in 0..2 {
        mean[i] = points.iter().map(|p| p[i]).sum::<f64>() / n;
        std[i] = (points.iter().map(|p| (p[i] - mean[i]).powi(2)).sum::<f64>() / n).sqrt();
    }
    (mean, std)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(source: &str, n_train: usize, n_test: usize, seed: u64) -> DataConfig {
        DataConfig {
            sources: vec![DataSource {
                label: source.into(),
                kind: SourceKind::Generator,
            }],
            n_train,
            n_test,
            seed,
            columns: None,
            test_fraction: 0.2,
            test_source: None,
            n_valid: 50,
            valid_fraction: 0.1,
        }
    }

    fn generate(source: &str, n_train: usize, n_test: usize, seed: u64) -> Dataset {
        Dataset::load(&config(source, n_train, n_test, seed), 0).unwrap()
    }

    #[test]
    fn every_generator_is_deterministic_given_the_seed() {
        for name in GENERATORS {
            let a = generate(name, 500, 100, 7);
            let b = generate(name, 500, 100, 7);
            let c = generate(name, 500, 100, 8);
            assert_eq!(a.train, b.train, "{name}");
            assert_eq!(a.test, b.test, "{name}");
            assert_ne!(a.train, c.train, "{name}");
            assert!(
                a.train
                    .iter()
                    .chain(&a.test)
                    .all(|p| p[0].is_finite() && p[1].is_finite()),
                "{name}"
            );
        }
    }

    #[test]
    fn every_generator_has_a_true_ll() {
        for name in GENERATORS {
            let t = generate(name, 10, 10, 0).true_ll;
            assert!(t.is_some_and(f64::is_finite), "{name}: {t:?}");
        }
    }

    /// Riemann sums of p and of p ln p over a box holding all the mass.
    fn integrate(g: &Generator, half_width: f64, n: usize) -> (f64, f64) {
        let h = 2.0 * half_width / n as f64;
        let (mut mass, mut neg_entropy) = (0.0, 0.0);
        for a in 0..n {
            for b in 0..n {
                let x = [
                    -half_width + (a as f64 + 0.5) * h,
                    -half_width + (b as f64 + 0.5) * h,
                ];
                let log_p = g.log_density(x).unwrap();
                if log_p.is_finite() {
                    mass += log_p.exp() * h * h;
                    neg_entropy += log_p.exp() * log_p * h * h;
                }
            }
        }
        (mass, neg_entropy)
    }

    /// Each density integrates to 1 over a box holding its mass, and `true_ll` (the mean log
    /// density of 20000 test points) agrees with the integral of p ln p within 5 standard errors
    /// plus the grid's error. The grid's spacing is at most half the smallest noise scale (0.1 for
    /// moons and spirals, 0.08 for rings, 0.2 for swiss roll): the midpoint rule on a smooth
    /// density vanishing at the box's edge errs by about exp(-2 pi^2 sd^2 / h^2) < 1e-30, so the
    /// tolerances below (1e-6 on the mass, 1e-5 on the entropy) are set by the densities' own
    /// accuracy, the rings' 1/|x| point at the origin and the pinwheel's folds.
    #[test]
    fn true_ll_matches_numerical_integration_for_every_generator() {
        for (name, half_width, n) in [
            ("gmm_iso", 15.0, 1600),
            ("gmm_aniso", 15.0, 1600),
            ("eight_gaussians", 6.0, 1600),
            ("checkerboard", 4.0, 1600),
            ("two_moons", 2.5, 100),
            ("rings", 2.8, 140),
            ("pinwheel", 6.5, 260),
            ("two_spirals", 4.2, 168),
            ("swiss_roll", 4.5, 90),
        ] {
            let g = Generator::by_name(name).unwrap();
            let (mass, neg_entropy) = integrate(&g, half_width, n);
            assert!((mass - 1.0).abs() < 1e-6, "{name}: integral of p = {mass}");
            let data = generate(name, 10, 20000, 3);
            let logs: Vec<f64> = data
                .test
                .iter()
                .map(|x| g.log_density(*x).unwrap())
                .collect();
            // Finite, and where the quadratures hold their stated accuracy (ln p > -20).
            assert!(
                logs.iter().all(|l| l.is_finite() && *l > -20.0),
                "{name}: a sample fell outside the support or far out"
            );
            let mean = logs.iter().sum::<f64>() / logs.len() as f64;
            let sd =
                (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / logs.len() as f64).sqrt();
            let tolerance = 5.0 * sd / (logs.len() as f64).sqrt() + 1e-5;
            assert!(
                (data.true_ll.unwrap() - neg_entropy).abs() <= tolerance,
                "{name}: true_ll {:?} vs {neg_entropy}",
                data.true_ll
            );
        }
    }

    /// Sample moments match the mixture's exact mean and variance (tolerance: 5 standard errors).
    #[test]
    fn samples_match_mixture_moments() {
        let data = generate("gmm_aniso", 40000, 1, 1);
        let Some(Generator::Mixture(m)) = Generator::by_name("gmm_aniso") else {
            unreachable!()
        };
        let (mean, std) = data.train_moments();
        for i in 0..2 {
            let exact_mean: f64 = (0..3).map(|k| m.weights[k] * m.means[k][i]).sum();
            let second: f64 = (0..3)
                .map(|k| m.weights[k] * (m.means[k][i].powi(2) + m.stds[k][i].powi(2)))
                .sum();
            let exact_var = second - exact_mean * exact_mean;
            let se = (exact_var / 40000.0).sqrt();
            assert!(
                (mean[i] - exact_mean).abs() < 5.0 * se,
                "axis {i}: mean {} vs {exact_mean}",
                mean[i]
            );
            assert!(
                (std[i].powi(2) - exact_var).abs() / exact_var < 0.03,
                "axis {i}: var {} vs {exact_var}",
                std[i].powi(2)
            );
        }
    }

    #[test]
    fn true_ll_is_near_the_entropy_of_gmm_iso() {
        // Three well-separated unit Gaussians: -H = -ln(2 pi e) + sum w ln w = -3.9366 nats.
        let data = generate("gmm_iso", 10, 20000, 0);
        let entropy = (2.0 * std::f64::consts::PI * std::f64::consts::E).ln()
            - [0.33f64, 0.33, 0.34]
                .iter()
                .map(|w| w * w.ln())
                .sum::<f64>();
        assert!(
            (data.true_ll.unwrap() + entropy).abs() < 0.03,
            "{:?}",
            data.true_ll
        );
    }

    fn file_config(path: &Path) -> DataConfig {
        DataConfig {
            sources: vec![DataSource {
                label: "f".into(),
                kind: SourceKind::File(path.to_path_buf()),
            }],
            ..config("gmm_iso", 1, 1, 4)
        }
    }

    /// A new empty folder of this test process under the system's temporary folder.
    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("grbm-sweep-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn csv(name: &str, text: &str) -> PathBuf {
        let path = tempdir(name).join("points.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn csv_file_takes_its_two_numeric_columns_and_splits_by_seed() {
        let rows: String = (0..50).map(|i| format!("p{i},{i},{}\n", 2 * i)).collect();
        let path = csv("split", &format!("label,x,y\n{rows}"));
        let data = Dataset::load(&file_config(&path), 0).unwrap();
        assert_eq!(data.columns, Some(["x".into(), "y".into()]));
        assert_eq!(
            (data.train.len(), data.valid.len(), data.test.len()),
            (35, 5, 10)
        );
        assert!(
            data.train
                .iter()
                .chain(&data.valid)
                .chain(&data.test)
                .all(|p| p[1] == 2.0 * p[0])
        );
        let again = Dataset::load(&file_config(&path), 0).unwrap();
        assert_eq!(data.test, again.test, "the split depends only on the seed");
    }

    /// A numeric label column before the points: without `columns` the file is refused, naming
    /// the candidates, instead of training on the label and x.
    #[test]
    fn three_numeric_columns_without_columns_are_refused() {
        let rows: String = (0..50)
            .map(|i| format!("{},{i},{}\n", i % 3, 2 * i))
            .collect();
        let path = csv("three", &format!("label,x,y\n{rows}"));
        let e = Dataset::load(&file_config(&path), 0)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "data file {} has 3 numeric columns (label, x, y) and no `columns` key in [data]: \
                 name the two point columns, e.g. columns = [\"x\", \"y\"]",
                path.display()
            )
        );
        let mut cfg = file_config(&path);
        cfg.columns = Some(["x".into(), "y".into()]);
        let data = Dataset::load(&cfg, 0).unwrap();
        assert!(data.train.iter().all(|p| p[1] == 2.0 * p[0]));
        assert_eq!(data.columns, Some(["x".into(), "y".into()]));
        // The test file is held to the same rule.
        let two = csv("two", &format!("x,y\n{}", "1,2\n".repeat(20)));
        let mut cfg = file_config(&two);
        cfg.test_source = Some(DataFile {
            label: "points.csv".into(),
            path: path.clone(),
        });
        let e = Dataset::load(&cfg, 0).unwrap_err().to_string();
        assert!(e.contains("has 3 numeric columns (label, x, y)"), "{e}");
    }

    #[test]
    fn csv_bad_cells_name_file_column_and_first_bad_row() {
        let cases = [
            (
                "x,y\n1,2\n3,abc\n5,6\n",
                "column `y`, row 2",
                "\"abc\" is not a number",
            ),
            (
                "x,y\n1,2\nNaN,4\n",
                "column `x`, row 2",
                "not a finite number",
            ),
            (
                "x,y\n1,2\n3,inf\n",
                "column `y`, row 2",
                "not a finite number",
            ),
            ("x,y\n1,2\n3,\n", "column `y`, row 2", "empty"),
        ];
        for (text, place, problem) in cases {
            let path = csv("bad-cells", text);
            let e = Dataset::load(&file_config(&path), 0)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("points.csv") && e.contains(place) && e.contains(problem),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn csv_missing_column_and_empty_file_are_errors() {
        let path = csv("missing-column", "x,y\n1,2\n");
        let mut cfg = file_config(&path);
        cfg.columns = Some(["x".into(), "z".into()]);
        let e = Dataset::load(&cfg, 0).unwrap_err().to_string();
        assert!(
            e.contains("points.csv") && e.contains("no column `z`") && e.contains("x, y"),
            "{e}"
        );
        let path = csv("header-only", "x,y\n");
        let e = Dataset::load(&file_config(&path), 0)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("points.csv") && e.contains("no data rows"),
            "{e}"
        );
        let path = csv("empty", "");
        assert!(
            Dataset::load(&file_config(&path), 0)
                .unwrap_err()
                .to_string()
                .contains("no data rows")
        );
    }

    /// tests/fixtures/mixed-types.parquet (written by Python polars): `label` text, `when` dates,
    /// `small` Int8, `cat` categorical, `nested` a struct, then `x` floats and `y` Int32 = 3 x.
    #[test]
    #[cfg(feature = "parquet")]
    fn parquet_point_columns_are_read_whatever_types_the_other_columns_have() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/mixed-types.parquet");
        let (columns, points) = read_points(&path, Some(&["x".into(), "y".into()])).unwrap();
        assert_eq!(columns, ["x", "y"]);
        assert_eq!(points.len(), 20);
        assert!(points.iter().all(|p| p[1] == 3.0 * p[0]), "{points:?}");
        let e = read_points(&path, None).unwrap_err().to_string();
        assert!(
            e.contains("has 3 numeric columns (small, x, y) and no `columns` key"),
            "{e}"
        );
        let e = read_points(&path, Some(&["small".into(), "x".into()]))
            .unwrap_err()
            .to_string();
        // The whole message: a mis-escaped line continuation once put a backslash, a newline
        // and the next line's indentation into it.
        assert_eq!(
            e,
            format!(
                "cannot read data file {}: column `small` holds Int8 values; point columns must \
                 be 32- or 64-bit integers or floats (convert it, or name other columns with \
                 `columns`)",
                path.display()
            ),
            "a numeric column this build cannot read"
        );
        let e = read_points(&path, Some(&["x".into(), "when".into()]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("column `when` holds Date32"), "{e}");
    }

    #[test]
    #[cfg(feature = "parquet")]
    fn parquet_file_with_separate_test_source() {
        use polars_core::prelude::*;
        use polars_io::prelude::*;
        let dir = tempdir("parquet");
        let write = |name: &str, n: usize| {
            let path = dir.join(name);
            let mut df = DataFrame::new(
                n,
                vec![
                    Series::new("a".into(), (0..n).map(|i| i as f64).collect::<Vec<_>>())
                        .into_column(),
                    Series::new("b".into(), (0..n).map(|i| i as i64 * 3).collect::<Vec<_>>())
                        .into_column(),
                ],
            )
            .unwrap();
            ParquetWriter::new(std::fs::File::create(&path).unwrap())
                .finish(&mut df)
                .unwrap();
            path
        };
        let train = write("train.parquet", 30);
        let test = write("test.parquet", 7);
        let mut cfg = file_config(&train);
        cfg.test_source = Some(crate::data::DataFile {
            label: "test.parquet".into(),
            path: test,
        });
        cfg.columns = Some(["b".into(), "a".into()]);
        let data = Dataset::load(&cfg, 0).unwrap();
        assert_eq!(
            (data.train.len(), data.valid.len(), data.test.len()),
            (27, 3, 7)
        );
        assert_eq!(data.test[2], [6.0, 2.0], "the test file keeps its order");
        assert!(
            data.train
                .iter()
                .chain(&data.valid)
                .all(|p| p[0] == 3.0 * p[1]),
            "columns are taken in the order named"
        );
        let mut rows: Vec<f64> = data.train.iter().chain(&data.valid).map(|p| p[1]).collect();
        rows.sort_by(f64::total_cmp);
        assert_eq!(rows, (0..30).map(f64::from).collect::<Vec<_>>());
    }

    /// The validation points come after the train and test points in the data stream: adding or
    /// removing them changes neither.
    #[test]
    fn generator_train_and_test_do_not_depend_on_n_valid() {
        for name in GENERATORS {
            let mut few = config(name, 300, 100, 5);
            few.n_valid = 1;
            let mut many = few.clone();
            many.n_valid = 500;
            let (few, many) = (
                Dataset::load(&few, 0).unwrap(),
                Dataset::load(&many, 0).unwrap(),
            );
            assert_eq!(few.train, many.train, "{name}");
            assert_eq!(few.test, many.test, "{name}");
            assert_eq!(few.true_ll, many.true_ll, "{name}");
            assert_eq!((few.valid.len(), many.valid.len()), (1, 500), "{name}");
            assert_eq!(few.valid[..], many.valid[..1], "{name}: the stream goes on");
            assert!(
                many.valid
                    .iter()
                    .all(|v| !many.train.contains(v) && !many.test.contains(v)),
                "{name}: a validation point repeats a train or test point"
            );
        }
    }

    /// The test rows of a file are the ones taken before there was a validation split (pinned:
    /// seed 4, 20 rows, test_fraction 0.2), and the validation rows come out of the training rows.
    #[test]
    fn file_test_rows_are_unchanged_by_the_validation_split() {
        let rows: String = (0..20).map(|i| format!("{i},{}\n", 10 * i)).collect();
        let path = csv("pinned-split", &format!("x,y\n{rows}"));
        let data = Dataset::load(&file_config(&path), 0).unwrap();
        let firsts = |points: &[[f64; 2]]| points.iter().map(|p| p[0]).collect::<Vec<f64>>();
        assert_eq!(firsts(&data.test), PINNED_TEST_ROWS);
        assert_eq!(firsts(&data.valid), [9.0, 0.0]);
        assert_eq!(
            (data.train.len(), data.valid.len(), data.test.len()),
            (14, 2, 4)
        );
        let mut all: Vec<f64> = firsts(&data.train);
        all.extend(firsts(&data.valid));
        all.extend(firsts(&data.test));
        all.sort_by(f64::total_cmp);
        assert_eq!(all, (0..20).map(f64::from).collect::<Vec<_>>());
    }

    /// The test rows of the file above as the split before `valid_fraction` made them (read from
    /// the data.parquet of a sweep on it by that version's binary, whose training rows ended in
    /// 9 and 0: now the validation rows).
    const PINNED_TEST_ROWS: [f64; 4] = [18.0, 5.0, 1.0, 4.0];

    #[test]
    fn file_too_small_for_three_splits_names_fractions_and_counts() {
        // 4 rows: 0.8 test rows round to 1, 0.4 validation rows to 0.
        let path = csv("too-few", "x,y\n1,2\n3,4\n5,6\n7,8\n");
        let e = Dataset::load(&file_config(&path), 0)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("points.csv")
                && e.contains("test_fraction 0.2 and valid_fraction 0.1 of its 4 rows")
                && e.contains("leave 3 training, 0 validation and 1 test points"),
            "{e}"
        );
        let mut cfg = file_config(&path);
        cfg.test_source = Some(DataFile {
            label: "points.csv".into(),
            path: path.clone(),
        });
        let e = Dataset::load(&cfg, 0).unwrap_err().to_string();
        assert!(
            e.contains("points.csv")
                && e.contains(
                    "valid_fraction 0.1 of its 4 rows leaves 4 training and 0 validation"
                )
                && e.contains("test_source"),
            "{e}"
        );
        cfg.valid_fraction = 0.9;
        let e = Dataset::load(&cfg, 0).unwrap_err().to_string();
        assert!(e.contains("leaves 0 training and 4 validation"), "{e}");
    }
}
