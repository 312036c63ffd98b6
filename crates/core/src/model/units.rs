//! Unit conversion: a model trained on standardized data, `(x - shift) / scale`, re-expressed in data units.

use faer::Mat;

use super::Grbm;

impl Grbm {
    /// The same density expressed in data units, for a model trained on `(x - shift) / scale`.
    ///
    /// The GRBM family is closed under per-axis affine maps, so this is exact:
    /// `p_data(x) = p_model((x - shift) / scale) / (scale_1 scale_2)`.
    pub fn to_data_units(&self, shift: [f64; 2], scale: [f64; 2]) -> Grbm {
        let sigma = self.sigma();
        let n = self.n_hidden();
        let w = Mat::from_fn(2, n, |i, j| scale[i] * self.w[(i, j)]);
        let c = (0..n)
            .map(|j| {
                self.c[j]
                    - (0..2)
                        .map(|i| shift[i] * self.w[(i, j)] / (scale[i] * sigma[i] * sigma[i]))
                        .sum::<f64>()
            })
            .collect();
        Grbm::new(
            [
                shift[0] + scale[0] * self.b[0],
                shift[1] + scale[1] * self.b[1],
            ],
            [scale[0] * sigma[0], scale[1] * sigma[1]],
            w,
            c,
        )
    }
}
