//! Bidirectional DiT score network (docs/design.md, §10; its log scores are eq. (14)).
//!
//! Peebles & Xie, "Scalable Diffusion Models with Transformers" (<https://arxiv.org/abs/2212.09748>)
//! for the adaLN-zero blocks; Lou, Meng & Ermon (<https://arxiv.org/abs/2310.16834>) for the score
//! parameterisation.

use serde::{Deserialize, Serialize};

use super::fused;
use crate::{Error, Result};
use burn::{
    config::Config,
    module::{Module, Param},
    nn::{
        Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm,
        LayerNormConfig, Linear, LinearConfig,
    },
    tensor::{
        activation::{sigmoid, silu, softmax},
        module::attention,
        ops::AttentionModuleOptions,
        Bool, Device, Int, Tensor, TensorData,
    },
};

/// Sizes of the score network: the `[model]` table of a preset (`configs/*.toml`) and of a
/// run's `run.toml`. What the data decide (vocabulary, graph, labels, window) joins them in
/// [`ScoreModelConfig`].
///
/// ```
/// use seddbio::model::ModelSize;
///
/// let size = ModelSize::new(64, 2, 4, 64);
/// assert_eq!(size.to_string(), "d_model 64, 2 blocks, 4 heads, cond 64");
/// assert!(ModelSize::new(64, 2, 3, 64).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSize {
    /// Hidden width.
    pub d_model: usize,
    /// DiT blocks.
    pub num_blocks: usize,
    /// Attention heads; `d_model` must divide by it into an even head size.
    pub num_heads: usize,
    /// Width of the time-conditioning vector.
    pub cond_dim: usize,
    /// Dropout inside the blocks while training.
    pub dropout: f64,
    /// `rotary` (relative positions only, the default) or `rotary+absolute` (also a learned
    /// embedding per position: for windows anchored on a landmark such as a TSS).
    #[serde(default, skip_serializing_if = "PositionKind::is_rotary")]
    pub position: PositionKind,
    /// Taps of a depthwise convolution over positions applied to q, k and v after their
    /// projection (0: none, the default; else odd). Gives every position its neighbours'
    /// features directly instead of through attention heads (docs/design.md, eq. (47a)).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub conv_kernel: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The sizes as the command line prints them, e.g. `d_model 64, 2 blocks, 4 heads, cond 64`
/// (and `, absolute positions` when the preset has them).
impl std::fmt::Display for ModelSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "d_model {}, {} blocks, {} heads, cond {}",
            self.d_model, self.num_blocks, self.num_heads, self.cond_dim
        )?;
        if self.position == PositionKind::RotaryAbsolute {
            write!(f, ", absolute positions")?;
        }
        if self.conv_kernel > 0 {
            write!(f, ", q/k/v convolution of {}", self.conv_kernel)?;
        }
        Ok(())
    }
}

impl ModelSize {
    /// Sizes without dropout and with relative positions only.
    pub fn new(d_model: usize, num_blocks: usize, num_heads: usize, cond_dim: usize) -> ModelSize {
        ModelSize {
            d_model,
            num_blocks,
            num_heads,
            cond_dim,
            dropout: 0.0,
            position: PositionKind::Rotary,
            conv_kernel: 0,
        }
    }

    /// The same sizes with a depthwise q/k/v convolution of `conv_kernel` taps (0: none).
    ///
    /// ```
    /// use seddbio::model::ModelSize;
    ///
    /// let size = ModelSize::new(64, 2, 4, 64).with_conv_kernel(9);
    /// assert_eq!(
    ///     size.to_string(),
    ///     "d_model 64, 2 blocks, 4 heads, cond 64, q/k/v convolution of 9"
    /// );
    /// assert!(size.with_conv_kernel(8).validate().is_err());
    /// ```
    pub fn with_conv_kernel(self, conv_kernel: usize) -> ModelSize {
        ModelSize {
            conv_kernel,
            ..self
        }
    }

    /// The same sizes with `dropout`.
    pub fn with_dropout(self, dropout: f64) -> ModelSize {
        ModelSize { dropout, ..self }
    }

    /// Whether a model of `other`'s sizes has the same weights: every size but dropout, which
    /// shapes no weight (so a fine-tune may change it).
    ///
    /// ```
    /// use seddbio::model::ModelSize;
    ///
    /// let tiny = ModelSize::new(64, 2, 4, 64);
    /// assert!(tiny.same_weights(&tiny.clone().with_dropout(0.1)));
    /// assert!(!tiny.same_weights(&ModelSize::new(128, 2, 4, 64)));
    /// ```
    pub fn same_weights(&self, other: &ModelSize) -> bool {
        *self == other.clone().with_dropout(self.dropout)
    }

    /// Checks what the network needs: sizes of at least 1, a head size that divides evenly
    /// and is even (rotary embedding), dropout in [0, 1).
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| {
            Err(Error::Config {
                origin: "[model]".into(),
                message: why,
            })
        };
        if self.d_model == 0 || self.num_blocks == 0 || self.num_heads == 0 || self.cond_dim == 0 {
            return bad("d_model, num_blocks, num_heads and cond_dim must be at least 1".into());
        }
        if !self.d_model.is_multiple_of(self.num_heads)
            || !(self.d_model / self.num_heads).is_multiple_of(2)
        {
            return bad(format!(
                "d_model {} must divide by num_heads {} into an even head size (rotary embedding)",
                self.d_model, self.num_heads
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} is not in [0, 1)", self.dropout));
        }
        if self.conv_kernel.is_multiple_of(2) && self.conv_kernel > 0 {
            return bad(format!(
                "conv_kernel {} must be odd (centred on the position) or 0 (none)",
                self.conv_kernel
            ));
        }
        Ok(())
    }
}

/// The score network: its sizes and what the run's data decide.
#[derive(Config, Debug)]
pub struct ScoreModelConfig {
    /// Real tokens N.
    pub num_symbols: usize,
    /// Absorbing graph (output width N + 1, scale by sigma) or uniform (width N).
    pub absorbing: bool,
    /// Widths, depth, heads, dropout, positions.
    pub size: ModelSize,
    /// Class labels of a conditional model (0: unconditional). Label `num_labels` is the null
    /// label: "no label", what classifier-free guidance contrasts with (docs/design.md, eq. (43)).
    #[config(default = 0)]
    pub num_labels: usize,
    /// Positions with a learned absolute embedding (0: relative positions only, through the
    /// rotary attention). For windows anchored on a landmark, e.g. promoters ending at a TSS,
    /// where what sits at position 220 matters, not only what sits 30 before the TSS-like
    /// pattern: with rotary attention alone a fully masked sequence looks the same at every
    /// position.
    #[config(default = 0)]
    pub absolute_positions: usize,
}

/// How the network knows where a token is (the `position` of a preset's `[model]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum PositionKind {
    /// Rotary attention only: relative positions, as in the SEDD reference.
    #[default]
    #[serde(rename = "rotary")]
    Rotary,
    /// Rotary attention plus a learned embedding per absolute position, added to the token
    /// embedding.
    #[serde(rename = "rotary+absolute")]
    RotaryAbsolute,
}

crate::choices::named_choices!(PositionKind, "position encoding", {
    Rotary => "rotary",
    RotaryAbsolute => "rotary+absolute",
});

impl PositionKind {
    /// Whether this is the default, [`PositionKind::Rotary`] (left out of run.toml).
    pub fn is_rotary(&self) -> bool {
        *self == PositionKind::Rotary
    }
}

/// Frequencies of the sinusoidal time embedding (docs/design.md, eq. (45): 256 features).
const TIME_FREQUENCIES: usize = 128;

/// The layer norms' epsilon.
const NORM_EPSILON: f64 = 1e-5;

/// Which implementation of the network's operations a forward pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// The fused CPU operations of [`fused`](super::fused) (burn's CPU backend only).
    Fused,
    /// burn's own tensor operations, on any device: the reference the fused operations are
    /// tested against.
    Burn,
}

impl Kernels {
    /// The fused kernels where the device has them, else burn's operations.
    pub fn for_device(device: &Device) -> Kernels {
        if fused::available(device) {
            Kernels::Fused
        } else {
            Kernels::Burn
        }
    }
}

crate::choices::named_choices!(Kernels, "kernels", {
    Fused => "fused",
    Burn => "burn",
});

impl ScoreModelConfig {
    /// The model's input and output width.
    pub fn width(&self) -> usize {
        self.num_symbols + usize::from(self.absorbing)
    }

    /// A freshly initialised model on `device`.
    pub fn init(&self, device: &Device) -> ScoreModel {
        let d = self.size.d_model;
        let zero = |d_in: usize, d_out: usize, bias: bool| {
            LinearConfig::new(d_in, d_out)
                .with_bias(bias)
                .with_initializer(Initializer::Zeros)
                .init(device)
        };
        let linear = |d_in: usize, d_out: usize, bias: bool| {
            LinearConfig::new(d_in, d_out).with_bias(bias).init(device)
        };
        let norm = || {
            LayerNormConfig::new(d)
                .with_bias(false)
                .with_epsilon(NORM_EPSILON)
                .init(device)
        };
        let blocks = (0..self.size.num_blocks)
            .map(|_| DitBlock {
                norm1: norm(),
                qkv: linear(d, 3 * d, false),
                attn_out: linear(d, d, false),
                norm2: norm(),
                mlp_in: linear(d, 4 * d, true),
                mlp_out: linear(4 * d, d, true),
                modulation: zero(self.size.cond_dim, 6 * d, true),
                qkv_conv: (self.size.conv_kernel > 0)
                    .then(|| identity_taps(self.size.conv_kernel, 3 * d, device)),
                dropout: DropoutConfig::new(self.size.dropout).init(),
                num_heads: self.size.num_heads,
            })
            .collect();
        ScoreModel {
            embedding: EmbeddingConfig::new(self.width(), d).init(device),
            time_in: linear(2 * TIME_FREQUENCIES, self.size.cond_dim, true),
            time_out: linear(self.size.cond_dim, self.size.cond_dim, true),
            blocks,
            final_norm: norm(),
            final_modulation: zero(self.size.cond_dim, 2 * d, true),
            final_linear: zero(d, self.width(), true),
            // A class embedding added to the time conditioning, as DiT does (Peebles & Xie,
            // section 3.2): it reaches every block through the adaLN modulation.
            label_embedding: (self.num_labels > 0).then(|| {
                EmbeddingConfig::new(self.num_labels + 1, self.size.cond_dim).init(device)
            }),
            // Small initial values (GPT-2's 0.02), so the positions start as a perturbation
            // of the token embedding rather than drowning it.
            position_embedding: (self.absolute_positions > 0).then(|| {
                EmbeddingConfig::new(self.absolute_positions, d)
                    .with_initializer(Initializer::Normal {
                        mean: 0.0,
                        std: 0.02,
                    })
                    .init(device)
            }),
            num_heads: self.size.num_heads,
            absorbing: self.absorbing,
        }
    }
}

/// One adaLN-zero transformer block with rotary attention and no causal mask.
#[derive(Module, Debug)]
pub struct DitBlock {
    norm1: LayerNorm,
    qkv: Linear,
    attn_out: Linear,
    norm2: LayerNorm,
    mlp_in: Linear,
    mlp_out: Linear,
    modulation: Linear,
    qkv_conv: Option<Param<Tensor<2>>>,
    dropout: Dropout,
    num_heads: usize,
}

/// Taps `[kernel, channels]` of a depthwise convolution that starts as the identity (the
/// centre tap 1, the others 0): a model with the convolution starts as the one without.
fn identity_taps(kernel: usize, channels: usize, device: &Device) -> Param<Tensor<2>> {
    let mut taps = vec![0f32; kernel * channels];
    taps[(kernel / 2) * channels..(kernel / 2 + 1) * channels].fill(1.0);
    Param::from_tensor(Tensor::from_data(
        TensorData::new(taps, [kernel, channels]),
        device,
    ))
}

/// Depthwise convolution over positions with zero padding: for `x` `[batch, len, channels]`
/// and `taps` `[kernel, channels]` (kernel odd), `y[i] = sum_j taps[j] * x[i + j - kernel / 2]`
/// channel by channel (docs/design.md, eq. (47a)), in burn's operations: the reference
/// [`fused::depthwise_conv`] is tested against.
pub(crate) fn depthwise_conv(x: Tensor<3>, taps: Tensor<2>) -> Tensor<3> {
    let [batch, len, channels] = x.dims();
    let kernel = taps.dims()[0];
    let half = kernel / 2;
    let zeros = Tensor::<3>::zeros([batch, half, channels], &x.device());
    let padded = Tensor::cat(vec![zeros.clone(), x, zeros], 1);
    (0..kernel)
        .map(|j| padded.clone().narrow(1, j, len) * taps.clone().narrow(0, j, 1).unsqueeze())
        .reduce(|sum, term| sum + term)
        .expect("a kernel has at least one tap")
}

/// The tanh approximation of GELU (as in the SEDD reference's `nn.GELU(approximate="tanh")`),
/// written through the identity `(1 + tanh(u)) / 2 = sigmoid(2u)`:
/// `x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))`.
///
/// Same function as burn's `gelu_approximate`, cheaper on CPU: it costs one `exp` per
/// element and its backward none, where the `tanh` form costs a `powf`, a `tanh` (itself an
/// `expm1`) and a second `tanh` in the backward pass. On `seddbio bench train` the tanh form
/// took about a seventh of the step.
fn gelu_tanh(x: Tensor<3>) -> Tensor<3> {
    const TWO_SQRT_2_OVER_PI: f64 =
        2.0 * core::f64::consts::FRAC_2_SQRT_PI * core::f64::consts::FRAC_1_SQRT_2;
    let inner =
        (x.clone() * x.clone() * (0.044715 * TWO_SQRT_2_OVER_PI) + TWO_SQRT_2_OVER_PI) * x.clone();
    x * sigmoid(inner)
}

/// `x * (1 + scale) + shift` with per-sequence [B, 1, d] modulation.
fn modulate(x: Tensor<3>, shift: Tensor<3>, scale: Tensor<3>) -> Tensor<3> {
    x * (scale + 1.0) + shift
}

/// Half-split rotary embedding ("rotate_half", docs/design.md, eq. (48)):
/// `x * cos + rotate_half(x) * sin` with cos/sin of shape [1, 1, L, head_dim], frequencies
/// 10000^(-2j/head_dim).
fn rotary(x: Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<4> {
    let half = x.dims()[3] / 2;
    let x1 = x.clone().narrow(3, 0, half);
    let x2 = x.clone().narrow(3, half, half);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    x * cos.clone() + rotated * sin.clone()
}

/// Scaled dot-product attention over every position (no mask): `softmax(q k^T / sqrt(hd)) v`.
///
/// Inference uses burn's fused CPU kernel. Under autodiff burn would fall back to a
/// decomposition built for masked attention (a scale pass over the [B, H, L, L] scores, two
/// clamps, a differentiated max, and an `exp` evaluated element by element on one thread).
/// Training instead scales `q` ([B, H, L, hd], a quarter of the scores' size at L = 4 hd) and
/// takes the softmax value `P` from burn's fused, multi-threaded kernel on the detached scores.
/// The gradient comes from `P * (1 + D - sum_j P_j D_j)` with `D = s - detach(s)`: `D` is
/// exactly 0, so the value is exactly `P`, and its Jacobian in `s` is `diag(P) - P P^T`, the
/// softmax's. (`seddbio bench train --config tiny --seq-len 300`: 10,800 -> 12,100 tokens/s.)
fn bidirectional_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>) -> Tensor<4> {
    if !q.is_autodiff() {
        return attention(
            q,
            k,
            v,
            None::<Tensor<4, Bool>>,
            None,
            AttentionModuleOptions::default(),
        );
    }
    let scale = (q.dims()[3] as f64).powf(-0.5);
    let scores = (q * scale).matmul(k.swap_dims(2, 3));
    let p = softmax(scores.clone().inner(), 3).autodiff();
    let d = scores.clone() - scores.detach();
    let mean_d = (p.clone() * d.clone()).sum_dim(3);
    (p * (d - mean_d + 1.0)).matmul(v)
}

/// `x [batch, len, d_in] @ weight [d_in, d_out]` as one `[batch * len, d_in]` product
/// ([`fused::linear`]): one large product split across threads instead of `batch` broadcast
/// ones, and a weight gradient without a sum over the batch.
fn matmul_rows(x: Tensor<3>, weight: Tensor<2>) -> Tensor<3> {
    fused::linear(x, weight)
}

impl DitBlock {
    /// q, k and v through the block's depthwise convolution, if it has one.
    fn convolve(&self, qkv: Tensor<3>, kernels: Kernels) -> Tensor<3> {
        match (&self.qkv_conv, kernels) {
            (Some(taps), Kernels::Fused) => fused::depthwise_conv(qkv, taps.val()),
            (Some(taps), Kernels::Burn) => depthwise_conv(qkv, taps.val()),
            (None, _) => qkv,
        }
    }

    /// The block through the fused CPU operations; the same function as [`Self::forward`].
    fn forward_fused(&self, x: Tensor<3>, c: &Tensor<3>) -> Tensor<3> {
        let m = self.modulation.forward(c.clone()).chunk(6, 2);
        let h = fused::layer_norm_modulate(
            x.clone(),
            self.norm1.gamma.val(),
            m[0].clone(),
            m[1].clone(),
            NORM_EPSILON,
        );
        let qkv = self.convolve(matmul_rows(h, self.qkv.weight.val()), Kernels::Fused);
        let attended = fused::attention(qkv, self.num_heads);
        let projected = self
            .dropout
            .forward(matmul_rows(attended, self.attn_out.weight.val()));
        let x = fused::gated_residual(x, projected, None, m[2].clone());

        let h = fused::layer_norm_modulate(
            x.clone(),
            self.norm2.gamma.val(),
            m[3].clone(),
            m[4].clone(),
            NORM_EPSILON,
        );
        let mlp_in_bias = self.mlp_in.bias.as_ref().map(|b| b.val());
        let mlp_out_bias = self.mlp_out.bias.as_ref().map(|b| b.val());
        let (Some(mlp_in_bias), Some(mlp_out_bias)) = (mlp_in_bias, mlp_out_bias) else {
            unreachable!("the MLP layers are built with biases")
        };
        let hidden = fused::bias_gelu(matmul_rows(h, self.mlp_in.weight.val()), mlp_in_bias);
        let y = matmul_rows(hidden, self.mlp_out.weight.val());
        if self.dropout.prob > 0.0 && x.is_autodiff() {
            // Dropout acts on the projection with its bias.
            let y = self.dropout.forward(y + mlp_out_bias.unsqueeze());
            fused::gated_residual(x, y, None, m[5].clone())
        } else {
            fused::gated_residual(x, y, Some(mlp_out_bias), m[5].clone())
        }
    }

    fn forward(&self, x: Tensor<3>, c: &Tensor<3>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<3> {
        let [b, l, d] = x.dims();
        let hd = d / self.num_heads;
        let m = self.modulation.forward(c.clone()).chunk(6, 2);
        let (shift1, scale1, gate1) = (m[0].clone(), m[1].clone(), m[2].clone());
        let (shift2, scale2, gate2) = (m[3].clone(), m[4].clone(), m[5].clone());

        let h = modulate(self.norm1.forward(x.clone()), shift1, scale1);
        let qkv = self
            .convolve(self.qkv.forward(h), Kernels::Burn)
            .reshape([b, l, 3, self.num_heads, hd])
            .permute([2, 0, 3, 1, 4]);
        let q: Tensor<4> = qkv.clone().narrow(0, 0, 1).squeeze_dim(0);
        let k: Tensor<4> = qkv.clone().narrow(0, 1, 1).squeeze_dim(0);
        let v: Tensor<4> = qkv.narrow(0, 2, 1).squeeze_dim(0);
        let (q, k) = (rotary(q, cos, sin), rotary(k, cos, sin));
        let attended = bidirectional_attention(q, k, v)
            .swap_dims(1, 2)
            .reshape([b, l, d]);
        let x = x + gate1 * self.dropout.forward(self.attn_out.forward(attended));

        let h = modulate(self.norm2.forward(x.clone()), shift2, scale2);
        let mlp = self.mlp_out.forward(gelu_tanh(self.mlp_in.forward(h)));
        x + gate2 * self.dropout.forward(mlp)
    }
}

/// The score network: tokens x_t and total noise sigma_bar -> log concrete scores.
#[derive(Module, Debug)]
pub struct ScoreModel {
    embedding: Embedding,
    time_in: Linear,
    time_out: Linear,
    blocks: Vec<DitBlock>,
    final_norm: LayerNorm,
    final_modulation: Linear,
    final_linear: Linear,
    label_embedding: Option<Embedding>,
    position_embedding: Option<Embedding>,
    num_heads: usize,
    absorbing: bool,
}

impl ScoreModel {
    /// The device its parameters live on.
    pub fn device(&self) -> Device {
        self.final_linear.weight.val().device()
    }

    /// Log scores [B, L, width] for tokens `x_t` [B, L] at total noise `sigma_bar` (one per
    /// sequence). The current token's entry is 0 (ratio 1); absorbing models subtract
    /// `ln(e^sigma_bar - 1) + ln(width - 1)` (scale by sigma). Runs the fused CPU kernels
    /// where the device has them ([`Kernels::for_device`]).
    /// A conditional model takes the null label here; see [`Self::forward_labelled`].
    pub fn forward(&self, x_t: Tensor<2, Int>, sigma_bar: &[f64]) -> Tensor<3> {
        self.forward_labelled(x_t, sigma_bar, None)
    }

    /// [`Self::forward`] under a label per sequence (`0..num_labels`, or `num_labels` for the
    /// null label); `None` is the null label for every sequence. A model without labels
    /// ignores them.
    pub fn forward_labelled(
        &self,
        x_t: Tensor<2, Int>,
        sigma_bar: &[f64],
        labels: Option<&[usize]>,
    ) -> Tensor<3> {
        let kernels = Kernels::for_device(&x_t.device());
        let out = self.output_layer(x_t.clone(), sigma_bar, labels, kernels);
        self.log_scores(out, x_t, sigma_bar)
    }

    /// Log scores from [`Self::output_layer`]'s `out` for the tokens `x_t` it was computed from:
    /// the scale by sigma of absorbing models and the zero current-token entry (see
    /// [`Self::forward`]).
    pub fn log_scores(&self, out: Tensor<3>, x_t: Tensor<2, Int>, sigma_bar: &[f64]) -> Tensor<3> {
        let device = x_t.device();
        let [b, _] = x_t.dims();
        let width = self.width();
        let mut out = out;
        if self.absorbing {
            let shift: Vec<f32> = sigma_bar
                .iter()
                .map(|&s| (s.exp_m1().ln() + ((width - 1) as f64).ln()) as f32)
                .collect();
            let shift =
                Tensor::<1>::from_data(TensorData::new(shift, [b]), &device).reshape([b, 1, 1]);
            out = out - shift;
        }
        let current: Tensor<3, Bool> = x_t.one_hot::<3>(width).bool();
        out.mask_fill(current, 0.0)
    }

    /// The output width: N + 1 for absorbing models, N for uniform ones.
    pub fn width(&self) -> usize {
        self.final_linear.weight.dims()[1]
    }

    /// Whether the model is for the absorbing graph (scale by sigma).
    pub fn is_absorbing(&self) -> bool {
        self.absorbing
    }

    /// Class labels of a conditional model (0 for an unconditional one).
    pub fn num_labels(&self) -> usize {
        self.label_embedding
            .as_ref()
            .map_or(0, |e| e.weight.dims()[0] - 1)
    }

    /// The network up to and including its last linear layer, `[B, L, width]`: what
    /// [`Self::forward`] turns into log scores, and what
    /// [`fused::weighted_score_entropy`] takes.
    pub fn output_layer(
        &self,
        x_t: Tensor<2, Int>,
        sigma_bar: &[f64],
        labels: Option<&[usize]>,
        kernels: Kernels,
    ) -> Tensor<3> {
        let device = x_t.device();
        let [b, l] = x_t.dims();
        let d = self.final_norm.gamma.dims()[0];

        // Time conditioning: [cos, sin] of sigma_bar * 10000^(-k/128), MLP, SiLU.
        let mut features = Vec::with_capacity(b * 2 * TIME_FREQUENCIES);
        for &s in sigma_bar {
            let args: Vec<f64> = (0..TIME_FREQUENCIES)
                .map(|k| s * (-(10000f64).ln() * k as f64 / TIME_FREQUENCIES as f64).exp())
                .collect();
            features.extend(args.iter().map(|a| a.cos() as f32));
            features.extend(args.iter().map(|a| a.sin() as f32));
        }
        let features = Tensor::<2>::from_data(
            TensorData::new(features, [b, 2 * TIME_FREQUENCIES]),
            &device,
        );
        let mut c = self.time_out.forward(silu(self.time_in.forward(features)));
        if let Some(embedding) = &self.label_embedding {
            let null = embedding.weight.dims()[0] - 1;
            let ids: Vec<i64> = match labels {
                Some(labels) => labels.iter().map(|&y| y.min(null) as i64).collect(),
                None => vec![null as i64; b],
            };
            let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, 1]), &device);
            c = c + embedding.forward(ids).squeeze_dim::<2>(1);
        }
        let c = silu(c).unsqueeze_dim::<3>(1);

        let mut h = self.embedding.forward(x_t);
        if let Some(positions) = &self.position_embedding {
            let table = positions.weight.val();
            assert!(
                l <= table.dims()[0],
                "{l} positions, more than the {} the model was built for",
                table.dims()[0]
            );
            h = h + table.narrow(0, 0, l).unsqueeze::<3>();
        }
        let m = self.final_modulation.forward(c.clone()).chunk(2, 2);
        match kernels {
            Kernels::Fused => {
                for block in &self.blocks {
                    h = block.forward_fused(h, &c);
                }
                let h = fused::layer_norm_modulate(
                    h,
                    self.final_norm.gamma.val(),
                    m[0].clone(),
                    m[1].clone(),
                    NORM_EPSILON,
                );
                let out = matmul_rows(h, self.final_linear.weight.val());
                match &self.final_linear.bias {
                    Some(bias) => out + bias.val().unsqueeze(),
                    None => out,
                }
            }
            Kernels::Burn => {
                let hd = d / self.num_heads;
                let mut cos = Vec::with_capacity(l * hd);
                let mut sin = Vec::with_capacity(l * hd);
                for position in 0..l {
                    for j in 0..hd {
                        let inv = (10000f64).powf(-2.0 * (j % (hd / 2)) as f64 / hd as f64);
                        cos.push((position as f64 * inv).cos() as f32);
                        sin.push((position as f64 * inv).sin() as f32);
                    }
                }
                let cos =
                    Tensor::<2>::from_data(TensorData::new(cos, [l, hd]), &device).unsqueeze::<4>();
                let sin =
                    Tensor::<2>::from_data(TensorData::new(sin, [l, hd]), &device).unsqueeze::<4>();
                for block in &self.blocks {
                    h = block.forward(h, &c, &cos, &sin);
                }
                let h = modulate(self.final_norm.forward(h), m[0].clone(), m[1].clone());
                self.final_linear.forward(h)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use burn::tensor::activation::gelu_approximate;

    use super::*;

    /// Values and gradients of [`gelu_tanh`] against burn's tanh-form `gelu_approximate`,
    /// over [-8, 8] (both tails and the curved middle).
    #[test]
    fn sigmoid_form_gelu_equals_the_tanh_form() {
        let device = Device::flex().autodiff();
        let points: Vec<f32> = (0..=320).map(|i| -8.0 + 0.05 * i as f32).collect();
        let input = || {
            Tensor::<1>::from_data(TensorData::new(points.clone(), [points.len()]), &device)
                .reshape([1, 1, points.len()])
                .require_grad()
        };
        let (ours_x, burns_x) = (input(), input());
        let ours = gelu_tanh(ours_x.clone());
        let burns = gelu_approximate(burns_x.clone());
        let value_gap: f32 = (ours.clone() - burns.clone()).abs().max().into_scalar();
        let ours_grad = ours_x.grad(&ours.sum().backward()).expect("gradient");
        let burns_grad = burns_x.grad(&burns.sum().backward()).expect("gradient");
        let grad_gap: f32 = (ours_grad - burns_grad).abs().max().into_scalar();
        assert!(value_gap < 2e-6, "values differ by {value_gap}");
        assert!(grad_gap < 1e-5, "gradients differ by {grad_gap}");
    }

    /// The training path of [`bidirectional_attention`] against burn's fused kernel (values)
    /// and against burn's own autodiff attention (gradients of q, k and v).
    #[test]
    fn training_attention_matches_burns_attention() {
        use burn::tensor::Distribution;

        let plain = Device::flex();
        let shape = [2, 3, 40, 8];
        let draw = || Tensor::<4>::random(shape, Distribution::Normal(0.0, 2.0), &plain);
        let (q, k, v) = (draw(), draw(), draw());
        let tracked = |t: &Tensor<4>| t.clone().autodiff().require_grad();

        let fused = bidirectional_attention(q.clone(), k.clone(), v.clone());
        let (oq, ok, ov) = (tracked(&q), tracked(&k), tracked(&v));
        let ours = bidirectional_attention(oq.clone(), ok.clone(), ov.clone());
        let (bq, bk, bv) = (tracked(&q), tracked(&k), tracked(&v));
        let burns = attention(
            bq.clone(),
            bk.clone(),
            bv.clone(),
            None::<Tensor<4, Bool>>,
            None,
            AttentionModuleOptions::default(),
        );
        let gap = |a: Tensor<4>, b: Tensor<4>| -> f32 {
            (a.inner() - b.inner()).abs().max().into_scalar()
        };
        let value_gap = gap(ours.clone(), fused);
        assert!(value_gap < 1e-5, "values differ by {value_gap}");

        // A weighted sum, so that the gradient is not the trivial one of sum(softmax) = 1.
        let weights = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &plain).autodiff();
        let our_grads = (ours * weights.clone()).sum().backward();
        let burn_grads = (burns * weights).sum().backward();
        for (name, ours, burns) in [("q", &oq, &bq), ("k", &ok, &bk), ("v", &ov, &bv)] {
            let g = gap(
                ours.grad(&our_grads).expect("gradient"),
                burns.grad(&burn_grads).expect("gradient"),
            );
            assert!(g < 1e-4, "gradient of {name} differs by {g}");
        }
    }

    /// Adds N(0, 0.3) noise to every parameter, so that the zero-initialised adaLN and output
    /// layers (and through them the labels) take part in a comparison.
    pub(crate) struct Jitter;

    impl burn::module::ModuleMapper for Jitter {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            param.map(|t| {
                let noise = t.random_like(burn::tensor::Distribution::Normal(0.0, 0.3));
                (t + noise).detach().require_grad()
            })
        }
    }

    /// Gradients of every parameter, in visiting order.
    struct Collect<'a> {
        grads: &'a burn::tensor::Gradients,
        out: Vec<Tensor<1>>,
    }

    impl burn::module::ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let index = self.out.len();
            let grad = param.val().grad(self.grads).unwrap_or_else(|| {
                panic!("parameter {index} {:?} has no gradient", param.val().dims())
            });
            self.out.push(grad.reshape([-1]));
        }
    }

    /// The whole network and loss through the fused kernels against burn's operations: the
    /// log scores of `forward`, the weighted DSE, and the gradient of every parameter, for
    /// both graphs, a batch of 3 and an odd length. Each operation agrees to 1e-5 on its own
    /// (`fused::tests`); through two blocks of jittered weights the rounding of two f32
    /// computations in different orders adds up to a few 1e-5, so values are held to 5e-5
    /// and gradients to 2e-4 of their largest entry.
    #[test]
    fn fused_network_matches_burns_operations() {
        use crate::{
            diffusion::NoisedBatch,
            diffusion::{Graph, GraphKind, NoiseSchedule},
            model::weighted_dse_with,
        };
        use rand::{RngExt, SeedableRng};

        let device = Device::flex().autodiff();
        for (kind, schedule) in [
            (GraphKind::Absorb, NoiseSchedule::LogLinear { eps: 1e-3 }),
            (
                GraphKind::Uniform,
                NoiseSchedule::Geometric {
                    sigma_min: 1e-4,
                    sigma_max: 20.0,
                },
            ),
        ] {
            let graph = Graph {
                kind,
                num_symbols: 4,
            };
            // The absorbing model is conditional (two labels and the null one) and convolves
            // q, k and v, so that the class embedding's and the taps' gradients are compared
            // too.
            let absorbing = kind == GraphKind::Absorb;
            let size = ModelSize::new(32, 2, 2, 16).with_conv_kernel(if absorbing { 5 } else { 0 });
            let config = ScoreModelConfig::new(4, absorbing, size)
                .with_num_labels(if absorbing { 2 } else { 0 })
                .with_absolute_positions(if absorbing { 0 } else { 40 });
            device.seed(3);
            let model = config.init(&device).map(&mut Jitter);
            let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
            let (b, l) = (3, 37);
            let clean: Vec<crate::alphabet::TokenId> =
                (0..b * l).map(|_| rng.random_range(0..4)).collect();
            let batch =
                NoisedBatch::draw(&clean, l, &[0.2, 0.55, 0.9], &graph, &schedule, &mut rng)
                    .with_labels(absorbing.then(|| vec![1, 2, 0]));

            let x_t = super::super::token_tensor(&batch.x_t, b, l, &device);
            let labels = batch.labels.as_deref();
            let scores = |kernels| {
                let out = model.output_layer(x_t.clone(), &batch.sigma_bar, labels, kernels);
                model.log_scores(out, x_t.clone(), &batch.sigma_bar)
            };
            let (fused_scores, burn_scores) = (scores(Kernels::Fused), scores(Kernels::Burn));
            let scale: f32 = burn_scores.clone().inner().abs().max().into_scalar();
            let gap: f32 = (fused_scores.inner() - burn_scores.inner())
                .abs()
                .max()
                .into_scalar();
            assert!(
                gap < 5e-5 * scale,
                "{kind}: log scores differ by {gap} (scale {scale})"
            );

            let mut gradients = Vec::new();
            for kernels in [Kernels::Fused, Kernels::Burn] {
                let loss = weighted_dse_with(&model, &batch, &graph, kernels);
                let grads = loss.clone().sum().backward();
                let mut collect = Collect {
                    grads: &grads,
                    out: Vec::new(),
                };
                model.visit(&mut collect);
                gradients.push((loss.inner(), collect.out));
            }
            let (fused, burn) = (&gradients[0], &gradients[1]);
            let scale: f32 = burn.0.clone().abs().max().into_scalar();
            let gap: f32 = (fused.0.clone() - burn.0.clone()).abs().max().into_scalar();
            assert!(
                gap < 5e-5 * scale,
                "{kind}: losses differ by {gap} (scale {scale})"
            );
            assert_eq!(fused.1.len(), burn.1.len());
            for (i, (f, r)) in fused.1.iter().zip(&burn.1).enumerate() {
                let scale: f32 = r.clone().inner().abs().max().into_scalar();
                let gap: f32 = (f.clone().inner() - r.clone().inner())
                    .abs()
                    .max()
                    .into_scalar();
                assert!(scale > 0.0, "{kind}: parameter {i} has a zero gradient");
                assert!(
                    gap < 2e-4 * scale,
                    "{kind}: gradient of parameter {i} differs by {gap} (scale {scale})"
                );
            }
        }
    }

    /// Rotary attention alone cannot tell the positions of a fully masked sequence apart (every
    /// position sees the same tokens at the same relative offsets... all of them MASK), so its
    /// scores are equal at every position; a learned absolute embedding makes them differ.
    #[test]
    fn absolute_positions_tell_masked_positions_apart() {
        let device = Device::flex().autodiff();
        let config = |absolute: usize| {
            ScoreModelConfig::new(4, true, ModelSize::new(16, 1, 2, 8))
                .with_absolute_positions(absolute)
        };
        device.seed(4);
        let masked = super::super::token_tensor(&[4; 6], 1, 6, &device);
        let rows = |model: &ScoreModel| -> Vec<Vec<f32>> {
            let scores: Vec<f32> = model
                .forward(masked.clone(), &[0.9])
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            scores.chunks(5).map(<[f32]>::to_vec).collect()
        };
        let relative = rows(&config(0).init(&device).map(&mut Jitter));
        assert!(relative.iter().all(|r| r
            .iter()
            .zip(&relative[0])
            .all(|(a, b)| (a - b).abs() < 1e-5)));
        let absolute_model = config(8).init(&device).map(&mut Jitter);
        let absolute = rows(&absolute_model);
        assert!(absolute[0]
            .iter()
            .zip(&absolute[5])
            .any(|(a, b)| (a - b).abs() > 1e-3));
        // 8 positions x 16 features on top of the relative model.
        assert_eq!(
            absolute_model.num_params() - config(0).init(&device).num_params(),
            8 * 16
        );
    }

    /// A conditional model: labels change the scores, `None` is the null label (index
    /// `num_labels`), and an unconditional model has no label parameters at all.
    #[test]
    fn labels_condition_the_scores_and_none_is_the_null_label() {
        let device = Device::flex().autodiff();
        let config = ScoreModelConfig::new(4, true, ModelSize::new(16, 1, 2, 8)).with_num_labels(3);
        device.seed(1);
        let model = config.init(&device).map(&mut Jitter);
        assert_eq!(model.num_labels(), 3);
        let x_t = super::super::token_tensor(&[0, 4, 2, 4, 1, 4, 4, 3], 2, 4, &device);
        let scores = |labels: Option<&[usize]>| -> Vec<f32> {
            model
                .forward_labelled(x_t.clone(), &[0.7, 0.7], labels)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(scores(None), scores(Some(&[3, 3])));
        assert_ne!(scores(Some(&[0, 0])), scores(Some(&[1, 1])));
        assert_ne!(scores(Some(&[0, 0])), scores(None));
        let plain = ScoreModelConfig::new(4, true, ModelSize::new(16, 1, 2, 8)).init(&device);
        assert_eq!(plain.num_labels(), 0);
        assert_eq!(model.num_params() - plain.num_params(), 4 * 8);
    }

    /// Fresh taps are the identity, so a fresh block with the convolution computes what it
    /// computes without; the convolution adds `kernel x 3d` parameters per block and refuses
    /// an even kernel.
    #[test]
    fn fresh_convolution_taps_are_the_identity() {
        let device = Device::flex();
        let x = Tensor::<3>::random([2, 6, 12], burn::tensor::Distribution::Default, &device);
        let same = depthwise_conv(x.clone(), identity_taps(5, 12, &device).val());
        assert_eq!(same.into_data(), x.into_data());
        let size = ModelSize::new(16, 2, 2, 8);
        let params = |size: ModelSize| {
            ScoreModelConfig::new(4, true, size)
                .init(&device)
                .num_params()
        };
        assert_eq!(
            params(size.clone().with_conv_kernel(3)) - params(size.clone()),
            2 * 3 * 48
        );
        assert!(size.clone().with_conv_kernel(4).validate().is_err());
        assert!(size.with_conv_kernel(9).validate().is_ok());
    }
}
