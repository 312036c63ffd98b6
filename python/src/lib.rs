//! `grbm_sweep._native`: the Python module's native part. A GRBM with 2 visible units from NumPy
//! arrays (or a results folder's run), scored, sampled and conditioned with grbm-core's own
//! functions (`estimate::score`, the batch kernels), so that every number equals the CLI's bit
//! for bit; the built-in generators and their exact densities. The pure-Python package
//! (`python/grbm_sweep/`) re-exports it and reads results folders (`_results.py`).

use std::sync::OnceLock;

use faer::Mat;
use grbm_core::data::{GENERATORS, Generator};
use grbm_core::estimate::{log_z_grid, score};
use grbm_core::model::{Grbm, MAX_ENUMERATION_HIDDEN, PartsError};
use numpy::ndarray::Array2;
use numpy::{
    AllowTypeChange, IntoPyArray, PyArray1, PyArray2, PyArrayLikeDyn, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// Any array-like of numbers, converted to float64 by NumPy.
type Numbers<'py> = PyArrayLikeDyn<'py, f64, AllowTypeChange>;

fn value_error(e: PartsError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// `(3, 5)` as Python prints a shape.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The values of a 1-D array, in order.
fn vector(name: &str, a: &Numbers<'_>, what: &str) -> PyResult<Vec<f64>> {
    if a.ndim() != 1 {
        return Err(PyValueError::new_err(format!(
            "`{name}` must be a 1-D array ({what}); found shape {}",
            shape_text(a.shape())
        )));
    }
    Ok(a.as_array().iter().copied().collect())
}

/// The rows of a `rows x cols` array, row-major, with its shape.
fn matrix(name: &str, a: &Numbers<'_>, what: &str) -> PyResult<(Vec<f64>, (usize, usize))> {
    if a.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "`{name}` must be a 2-D array ({what}); found shape {}",
            shape_text(a.shape())
        )));
    }
    let (rows, cols) = (a.shape()[0], a.shape()[1]);
    Ok((a.as_array().iter().copied().collect(), (rows, cols)))
}

/// Points, one per row of an `N x 2` array.
fn points(name: &str, a: &Numbers<'_>) -> PyResult<Vec<[f64; 2]>> {
    let shape = a.shape();
    if a.ndim() == 2 && shape[1] == 2 {
        return Ok(a
            .as_array()
            .rows()
            .into_iter()
            .map(|r| [r[0], r[1]])
            .collect());
    }
    let hint = match shape {
        [2] => "; one point is an array of shape (1, 2), e.g. x[None, :]",
        [2, _] => "; transposed? pass x.T",
        _ => "",
    };
    Err(PyValueError::new_err(format!(
        "`{name}` must be an N x 2 array, one point (x1, x2) per row; found shape {}{hint}",
        shape_text(shape)
    )))
}

/// A `rows x 2` NumPy array of points.
fn points_array<'py>(py: Python<'py>, p: &[[f64; 2]]) -> Bound<'py, PyArray2<f64>> {
    let flat: Vec<f64> = p.iter().flatten().copied().collect();
    Array2::from_shape_vec((p.len(), 2), flat)
        .expect("two values per point")
        .into_pyarray(py)
}

/// A faer matrix as a NumPy array of the same shape.
fn mat_array<'py>(py: Python<'py>, m: &Mat<f64>) -> Bound<'py, PyArray2<f64>> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(r, c)| m[(r, c)]).into_pyarray(py)
}

/// The generator `name`, or a ValueError listing them all.
fn generator(name: &str) -> PyResult<Generator> {
    Generator::by_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown generator `{name}`; the generators are {}",
            GENERATORS.join(", ")
        ))
    })
}

/// A Gaussian-Bernoulli RBM with 2 real visible units and n binary hidden units.
///
/// Model(b, sigma, W, c): b (2) the visible biases, sigma (2) the visible STANDARD DEVIATIONS
/// (not variances, not logs), W (2 x n, row i = visible unit i; a PyTorch-style n x 2 weight
/// is W.T) and c (n) the hidden biases. Array-likes are converted to float64. A transposed W, a
/// non-positive sigma, wrong lengths and non-finite values raise ValueError saying what was
/// found; a 2 x 2 W cannot be told from its transpose, nor a variance from a standard deviation.
///
/// Model.from_results(dir, run_id) reads a trained model of a sweep's results folder.
#[pyclass(module = "grbm_sweep", name = "Model", frozen)]
struct Model {
    grbm: Grbm,
    /// The run's grid (`None`: the automatic grid of a sweep, chosen from the parameters).
    grid_points: Option<usize>,
    run_id: Option<String>,
    dataset: Option<String>,
    /// log Z on the grid, once computed.
    log_z: OnceLock<f64>,
}

impl Model {
    fn of(grbm: Grbm, grid_points: Option<usize>) -> Self {
        Model {
            grbm,
            grid_points,
            run_id: None,
            dataset: None,
            log_z: OnceLock::new(),
        }
    }

    /// log Z on the model's grid, computed once, without the GIL.
    fn cached_log_z(&self, py: Python<'_>) -> f64 {
        if let Some(z) = self.log_z.get() {
            return *z;
        }
        let z = py.detach(|| log_z_grid(&self.grbm, self.grid_points).log_z);
        *self.log_z.get_or_init(|| z)
    }

    fn log_densities(&self, py: Python<'_>, points: Vec<[f64; 2]>) -> Vec<f64> {
        let log_z = self.cached_log_z(py);
        py.detach(|| score::log_densities(&self.grbm, log_z, &points))
    }
}

#[pymethods]
impl Model {
    #[new]
    #[pyo3(signature = (b, sigma, W, c))]
    #[allow(non_snake_case)]
    fn new(b: Numbers<'_>, sigma: Numbers<'_>, W: Numbers<'_>, c: Numbers<'_>) -> PyResult<Self> {
        let b = vector("b", &b, "2 visible biases")?;
        let sigma = vector("sigma", &sigma, "2 standard deviations")?;
        let c = vector("c", &c, "n hidden biases")?;
        let (w, shape) = matrix("W", &W, "2 x n, row i = visible unit i")?;
        let grbm = Grbm::from_parts(&b, &sigma, &w, shape, &c).map_err(value_error)?;
        Ok(Model::of(grbm, None))
    }

    /// Model.from_results(dir, run_id) -> Model
    ///
    /// The trained model of run `run_id` (its whole id, or a prefix that begins no other run's)
    /// of the results folder `dir`, from its committed tables: the parameters of
    /// models.parquet (with log sigma as trained, so the model is the trained one bit for bit)
    /// and the run's grid_points of runs.parquet, so that log_z() equals the table's log_z and
    /// log_prob(test points) averages to its test_ll. Runs without a result (failed, diverged)
    /// are not found. Needs polars (pip install polars). ValueError for an unknown or
    /// ambiguous id, FileNotFoundError for a folder without tables.
    #[staticmethod]
    #[pyo3(signature = (dir, run_id))]
    fn from_results(py: Python<'_>, dir: Bound<'_, PyAny>, run_id: &str) -> PyResult<Self> {
        let read = py.import("grbm_sweep._results")?.getattr("read_run")?;
        let row = read.call1((dir, run_id))?;
        let get = |key: &str| row.get_item(key);
        let (b, log_sigma): (Vec<f64>, Vec<f64>) =
            (get("b")?.extract()?, get("log_sigma")?.extract()?);
        let (w1, w2): (Vec<f64>, Vec<f64>) = (get("w1")?.extract()?, get("w2")?.extract()?);
        let c: Vec<f64> = get("c")?.extract()?;
        let grid_points: Option<usize> = get("grid_points")?.extract()?;
        let shape = (2, w1.len());
        if w2.len() != w1.len() {
            return Err(PyValueError::new_err(format!(
                "models.parquet: w1 has {} values and w2 {}",
                w1.len(),
                w2.len()
            )));
        }
        let w = [w1, w2].concat();
        let grbm =
            Grbm::from_log_sigma_parts(&b, &log_sigma, &w, shape, &c).map_err(value_error)?;
        let mut model = Model::of(grbm, grid_points);
        model.run_id = Some(get("run_id")?.extract()?);
        model.dataset = Some(get("dataset")?.extract()?);
        Ok(model)
    }

    /// log Z = ln of the integral of exp(-F(x)) over the plane, by the sweep's grid integration
    /// (grid_points per axis: the run's for a model from_results, else the automatic grid).
    /// The runs.parquet `log_z` of the same model and grid, bit for bit. Computed once.
    fn log_z(&self, py: Python<'_>) -> f64 {
        self.cached_log_z(py)
    }

    /// log_z_report() -> dict
    ///
    /// log Z with what says how far to trust it: `log_z` (as log_z()), `grid_points` (per
    /// axis), `log_z_exact` (by enumerating the 2^n hidden states, n <= 20; else None),
    /// `log_z_fine` (on the grid of half the spacing) and `integration_error`
    /// (|log_z - log_z_fine|): what `grbm-sweep eval` prints.
    fn log_z_report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let z = py.detach(|| score::log_z(&self.grbm, self.grid_points));
        let _ = self.log_z.set(z.log_z);
        let d = PyDict::new(py);
        d.set_item("log_z", z.log_z)?;
        d.set_item("grid_points", z.grid_points)?;
        d.set_item("log_z_exact", z.log_z_exact)?;
        d.set_item("log_z_fine", z.log_z_fine)?;
        d.set_item("integration_error", z.integration_error())?;
        Ok(d)
    }

    /// log_prob(x) -> ndarray of shape (N,)
    ///
    /// ln p(x) = -F(x) - log Z of every row of x (N x 2), in nats: the per-point values of
    /// `grbm-sweep eval`, bit for bit; their mean over a run's test points is its test_ll.
    fn log_prob<'py>(
        &self,
        py: Python<'py>,
        x: Numbers<'py>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let p = points("x", &x)?;
        Ok(self.log_densities(py, p).into_pyarray(py))
    }

    /// free_energy(x) -> ndarray of shape (N,)
    ///
    /// F(x) = sum_i (x_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + sum_i x_i W_ij /
    /// sigma_i^2) of every row of x (N x 2): p(x) = exp(-F(x)) / Z.
    fn free_energy<'py>(
        &self,
        py: Python<'py>,
        x: Numbers<'py>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let p = points("x", &x)?;
        let f = py.detach(|| score::free_energies(&self.grbm, &p));
        Ok(f.into_pyarray(py))
    }

    /// density(xs, ys, log=False) -> ndarray of shape (len(ys), len(xs))
    ///
    /// p(x) at every point (xs[k], ys[r]) of the grid xs x ys, as element [r, k]: rows follow
    /// ys, columns xs, as numpy.meshgrid(xs, ys) lays them out and matplotlib's
    /// pcolormesh(xs, ys, P) / imshow draw them. With log=True, ln p(x).
    #[pyo3(signature = (xs, ys, log = false))]
    fn density<'py>(
        &self,
        py: Python<'py>,
        xs: Numbers<'py>,
        ys: Numbers<'py>,
        log: bool,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let xs = vector("xs", &xs, "the x1 coordinates")?;
        let ys = vector("ys", &ys, "the x2 coordinates")?;
        let grid: Vec<[f64; 2]> = ys
            .iter()
            .flat_map(|y| xs.iter().map(move |x| [*x, *y]))
            .collect();
        let mut values = self.log_densities(py, grid);
        if !log {
            values.iter_mut().for_each(|v| *v = v.exp());
        }
        let a = Array2::from_shape_vec((ys.len(), xs.len()), values).expect("one value a point");
        Ok(a.into_pyarray(py))
    }

    /// sample(n, seed) -> ndarray of shape (n, 2)
    ///
    /// n exact, independent samples of the model from `seed`: up to 20 hidden units z from the
    /// mixture weights of the 2^n hidden states, then x ~ N(b + W z, diag sigma^2); above, from
    /// the log Z grid. The same seed gives the same samples; a sweep run's seed gives its
    /// `exact` rows of samples.parquet again (as `grbm-sweep sample` does).
    #[pyo3(signature = (n, seed))]
    fn sample<'py>(&self, py: Python<'py>, n: usize, seed: u64) -> Bound<'py, PyArray2<f64>> {
        let s = py.detach(|| score::sample(&self.grbm, n, seed, self.grid_points));
        points_array(py, &s)
    }

    /// hidden_probs(x) -> ndarray of shape (N, n)
    ///
    /// p(z_j = 1 | x) = sigmoid(c_j + sum_i x_i W_ij / sigma_i^2) for every row of x (N x 2).
    fn hidden_probs<'py>(
        &self,
        py: Python<'py>,
        x: Numbers<'py>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let p = points("x", &x)?;
        let n = self.grbm.n_hidden();
        let probs = py.detach(|| {
            let x = Mat::from_fn(p.len(), 2, |r, i| p[r][i]);
            let (mut scaled, mut out) = (Mat::zeros(p.len(), 2), Mat::zeros(p.len(), n));
            self.grbm
                .hidden_probs(x.as_ref(), scaled.as_mut(), out.as_mut());
            out
        });
        Ok(mat_array(py, &probs))
    }

    /// visible_means(z) -> ndarray of shape (M, 2)
    ///
    /// The mean of p(x | z), b + W z, for every row of z (M x n; binary states, or
    /// probabilities such as hidden_probs(x) for the mean-field reconstruction).
    fn visible_means<'py>(
        &self,
        py: Python<'py>,
        z: Numbers<'py>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let n = self.grbm.n_hidden();
        let (values, (rows, cols)) = matrix("z", &z, "M x n, one hidden state per row")?;
        if cols != n {
            return Err(PyValueError::new_err(format!(
                "`z` must have n = {n} columns, one per hidden unit; found shape ({rows}, {cols})"
            )));
        }
        let z = Mat::from_fn(rows, n, |r, j| values[r * n + j]);
        let mut out = Mat::zeros(rows, 2);
        self.grbm.visible_means(z.as_ref(), out.as_mut());
        Ok(mat_array(py, &out))
    }

    /// The visible biases b, shape (2,).
    #[getter]
    fn b<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.grbm.b.to_vec().into_pyarray(py)
    }

    /// The visible standard deviations sigma = exp(log_sigma), shape (2,).
    #[getter]
    fn sigma<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.grbm.sigma().to_vec().into_pyarray(py)
    }

    /// ln sigma, shape (2,): the parameter training moves (models.parquet's log_sigma1, 2).
    #[getter]
    fn log_sigma<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.grbm.log_sigma.to_vec().into_pyarray(py)
    }

    /// The weights W, shape (2, n): row i belongs to visible unit i.
    #[getter]
    #[allow(non_snake_case)]
    fn W<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        mat_array(py, &self.grbm.w)
    }

    /// The hidden biases c, shape (n,).
    #[getter]
    fn c<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.grbm.c.clone().into_pyarray(py)
    }

    /// n, the number of hidden units.
    #[getter]
    fn n_hidden(&self) -> usize {
        self.grbm.n_hidden()
    }

    /// Points per axis of the log Z grid: the run's for a model from_results, else None (the
    /// automatic grid chosen from the parameters, as a sweep chooses it).
    #[getter]
    fn grid_points(&self) -> Option<usize> {
        self.grid_points
    }

    /// The run id of a model from_results (the whole id), else None.
    #[getter]
    fn run_id(&self) -> Option<String> {
        self.run_id.clone()
    }

    /// The data set of a model from_results (runs.parquet's `dataset`), else None.
    #[getter]
    fn dataset(&self) -> Option<String> {
        self.dataset.clone()
    }

    fn __repr__(&self) -> String {
        let from = match (&self.run_id, &self.dataset) {
            (Some(id), Some(data)) => format!(", run {id} on {data}"),
            _ => String::new(),
        };
        format!(
            "<grbm_sweep.Model: {} hidden units{from}>",
            self.grbm.n_hidden()
        )
    }
}

/// generate(name, n, seed) -> ndarray of shape (n, 2)
///
/// The first n points the built-in generator `name` draws from the data seed `seed`: a sweep
/// with `[data] source = name` and `seed = seed` trains on the first n_train of them, tests on
/// the next n_test and validates on the n_valid after those (data.parquet's rows, bit for bit).
#[pyfunction]
#[pyo3(signature = (name, n, seed))]
fn generate<'py>(
    py: Python<'py>,
    name: &str,
    n: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let g = generator(name)?;
    let p = py.detach(|| g.draw(n, seed));
    Ok(points_array(py, &p))
}

/// true_log_density(name, x) -> ndarray of shape (N,)
///
/// The exact log density of the built-in generator `name` at every row of x (N x 2), in nats
/// (-inf outside its support): the density behind runs.parquet's true_ll.
#[pyfunction]
#[pyo3(signature = (name, x))]
fn true_log_density<'py>(
    py: Python<'py>,
    name: &str,
    x: Numbers<'py>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let g = generator(name)?;
    let p = points("x", &x)?;
    let values: Option<Vec<f64>> = py.detach(|| p.iter().map(|x| g.log_density(*x)).collect());
    let values = values.ok_or_else(|| {
        PyValueError::new_err(format!("the generator `{name}` has no exact log density"))
    })?;
    Ok(values.into_pyarray(py))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(true_log_density, m)?)?;
    m.add("GENERATORS", PyTuple::new(m.py(), GENERATORS)?)?;
    m.add("MAX_ENUMERATION_HIDDEN", MAX_ENUMERATION_HIDDEN)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
