//! Fused CPU kernels for the score network's hot paths, as a burn backend extension.
//!
//! burn 0.22's CPU backend (`flex`) runs elementwise operations one at a time on one thread, and
//! its autodiff decomposes attention, softmax and layer norm into primitive operations, each
//! with its own pass over memory and its own node in the graph. [`FusedBackend`] replaces the
//! network's hot paths with one operation each, implemented for `Flex` (rayon over rows or
//! heads, AVX2/FMA loops, see [`vector`]) and for `Autodiff<Flex>` with a hand-written
//! backward pass:
//!
//! | operation | forward | module |
//! |---|---|---|
//! | [`layer_norm_modulate`] | `LN(x) * gamma * (1 + scale) + shift` | [`norm`] |
//! | [`linear`] | `x @ w` (no bias; the biases are fused into the next operation) | [`matmul`](mod@matmul) |
//! | [`depthwise_conv`] | `sum_j taps[j] * x[i + j - K/2]` over positions, per feature | [`conv`] |
//! | [`attention`] | rotary embedding, `softmax(q k^T / sqrt(hd)) v` for all heads | [`attention`](mod@attention) |
//! | [`bias_gelu`] | `gelu_tanh(u + bias)` | [`gelu`] |
//! | [`gated_residual`] | `x + gate * (y + bias)` | [`residual`] |
//! | [`weighted_score_entropy`] | scale by sigma, DSE loss, per-sequence weighted sum | [`score_entropy`] |
//!
//! Each is tested against the same computation written with burn's tensor operations, values
//! and gradients. Other devices (CUDA) keep that decomposed form: [`available`] says which
//! path a device takes.

pub mod attention;
pub mod conv;
pub mod gelu;
pub mod matmul;
pub mod norm;
pub mod residual;
pub mod rows;
pub mod score_entropy;
pub mod vector;

use burn::{
    backend::{
        autodiff::{
            checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
            grads::Gradients,
            ops::{Backward, Ops, OpsKind},
        },
        backend_extension,
        flex::{FlexTensor, Layout},
        tensor::FloatTensor,
        Autodiff, Backend, DType, Dispatch, Flex, Shape,
    },
    tensor::{Bytes, Device, Tensor},
};

pub use self::score_entropy::DseTerms;
use self::{
    attention::AttentionShape,
    matmul::{MatrixRef, Threads},
    rows::RowShape,
    vector::written_by,
};

/// `A B` as a new row-major `[m, n]` matrix, `dims = (m, n, k)`, on the thread pool.
///
/// # Safety
/// `a` must address an `[m, k]` and `b` a `[k, n]` matrix of live values for the call; the
/// product (not accumulating) then writes every element of the new matrix.
unsafe fn product(dims: (usize, usize, usize), a: MatrixRef, b: MatrixRef) -> Vec<f32> {
    let (m, n, _) = dims;
    // SAFETY: the caller's shapes; `written_by` hands out m * n elements, all written.
    unsafe {
        written_by(m * n, |c| {
            matmul::matmul(dims, a, b, c, n, false, Threads::Pool)
        })
    }
}

/// The fused operations. Called through the [`Tensor`] functions of this module.
#[backend_extension(Flex, Autodiff)]
pub trait FusedBackend: Backend {
    /// See [`layer_norm_modulate`].
    fn fused_layer_norm_modulate(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        epsilon: f32,
    ) -> FloatTensor<Self>;
    /// See [`linear`].
    fn fused_linear(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self>;
    /// See [`depthwise_conv`].
    fn fused_depthwise_conv(x: FloatTensor<Self>, taps: FloatTensor<Self>) -> FloatTensor<Self>;
    /// See [`attention`](fn@attention).
    fn fused_attention(qkv: FloatTensor<Self>, heads: usize) -> FloatTensor<Self>;
    /// See [`bias_gelu`].
    fn fused_bias_gelu(u: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self>;
    /// See [`gated_residual`] (without a bias).
    fn fused_gated_residual(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        gate: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// See [`gated_residual`] (with a bias).
    fn fused_gated_residual_bias(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        gate: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// See [`weighted_score_entropy`].
    fn fused_score_entropy(z: FloatTensor<Self>, terms: DseTerms) -> FloatTensor<Self>;
}

/// Whether tensors on `device` take the fused kernels (burn's CPU backend, with or without
/// autodiff); elsewhere the network uses burn's own operations.
///
/// ```
/// use burn::tensor::Device;
/// use seddbio::model::fused_kernels_available;
///
/// assert!(fused_kernels_available(&Device::flex()));
/// assert!(fused_kernels_available(&Device::flex().autodiff()));
/// ```
pub fn available(device: &Device) -> bool {
    *device == Device::flex()
}

/// `LN(x) * gamma * (1 + scale) + shift`: layer norm over the last axis (no bias, biased
/// variance plus `epsilon`) and the adaLN modulation, for `x` `[batch, len, d]`, `gamma`
/// `[d]`, and one shift and scale per sequence (`[batch, 1, d]`).
pub fn layer_norm_modulate(
    x: Tensor<3>,
    gamma: Tensor<1>,
    shift: Tensor<3>,
    scale: Tensor<3>,
    epsilon: f64,
) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedBackend>::fused_layer_norm_modulate(
        x.into_dispatch(),
        gamma.into_dispatch(),
        shift.into_dispatch(),
        scale.into_dispatch(),
        epsilon as f32,
    ))
}

/// `x @ weight` for `x` `[batch, len, k]` and `weight` `[k, n]`: one `[batch * len, k]`
/// product on all threads (see [`matmul`](mod@matmul)).
pub fn linear(x: Tensor<3>, weight: Tensor<2>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedBackend>::fused_linear(
        x.into_dispatch(),
        weight.into_dispatch(),
    ))
}

/// Depthwise convolution over positions with zero padding, for `x` `[batch, len, width]` and
/// `taps` `[kernel, width]` (kernel odd): `y[b, i] = sum_j taps[j] * x[b, i + j - kernel / 2]`,
/// feature by feature (see [`conv`]).
pub fn depthwise_conv(x: Tensor<3>, taps: Tensor<2>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedBackend>::fused_depthwise_conv(
        x.into_dispatch(),
        taps.into_dispatch(),
    ))
}

/// Multi-head bidirectional attention with rotary positions: `qkv` `[batch, len, 3 d]` holds
/// q, k and v in thirds, each split into `heads` consecutive head slices; the result is the
/// heads' outputs side by side, `[batch, len, d]`.
pub fn attention(qkv: Tensor<3>, heads: usize) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedBackend>::fused_attention(
        qkv.into_dispatch(),
        heads,
    ))
}

/// `gelu_tanh(u + bias)` for `u` `[batch, len, f]`, `bias` `[f]`.
pub fn bias_gelu(u: Tensor<3>, bias: Tensor<1>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedBackend>::fused_bias_gelu(
        u.into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// `x + gate * (y + bias)` for `x`, `y` `[batch, len, d]`, `gate` `[batch, 1, d]` and an
/// optional `bias` `[d]`.
pub fn gated_residual(
    x: Tensor<3>,
    y: Tensor<3>,
    bias: Option<Tensor<1>>,
    gate: Tensor<3>,
) -> Tensor<3> {
    Tensor::from_dispatch(match bias {
        Some(bias) => <Dispatch as FusedBackend>::fused_gated_residual_bias(
            x.into_dispatch(),
            y.into_dispatch(),
            bias.into_dispatch(),
            gate.into_dispatch(),
        ),
        None => <Dispatch as FusedBackend>::fused_gated_residual(
            x.into_dispatch(),
            y.into_dispatch(),
            gate.into_dispatch(),
        ),
    })
}

/// `weight_b * sum_i DSE_i` per sequence (`[batch]`) from the output `z` (`[batch, len, width]`)
/// of the network's last linear layer; see [`score_entropy`].
pub fn weighted_score_entropy(z: Tensor<3>, terms: DseTerms) -> Tensor<1> {
    Tensor::from_dispatch(<Dispatch as FusedBackend>::fused_score_entropy(
        z.into_dispatch(),
        terms,
    ))
}

/// The tensor's values in row-major order (a copy only when it is a strided view).
fn values(tensor: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    assert_eq!(
        tensor.dtype(),
        DType::F32,
        "the fused kernels compute in f32"
    );
    match tensor.as_slice::<f32>() {
        Some(values) => values.into(),
        None => tensor
            .to_contiguous()
            .as_slice::<f32>()
            .expect("contiguous")
            .to_vec()
            .into(),
    }
}

/// A contiguous f32 tensor.
fn tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    debug_assert_eq!(values.len(), shape.num_elements());
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(shape),
        DType::F32,
    )
}

fn shape_of(tensor: &FlexTensor) -> Shape {
    tensor.layout().shape().clone()
}

/// `[k, n]` of a weight matrix.
fn weight_dims(weight: &FlexTensor) -> [usize; 2] {
    let shape = weight.layout().shape();
    assert_eq!(shape.num_dims(), 2, "a linear layer's weight is [in, out]");
    [shape[0], shape[1]]
}

/// `[batch, len, width]` of a rank-3 tensor.
fn row_shape(tensor: &FlexTensor) -> RowShape {
    let shape = tensor.layout().shape();
    assert_eq!(
        shape.num_dims(),
        3,
        "fused kernels take [batch, len, width] activations"
    );
    RowShape {
        batch: shape[0],
        len: shape[1],
        width: shape[2],
    }
}

/// Forward passes on plain `Flex` tensors; the autodiff implementation reuses them.
mod flex_forward {
    use super::*;

    pub fn layer_norm_modulate(
        x: &FlexTensor,
        gamma: &FlexTensor,
        shift: &FlexTensor,
        scale: &FlexTensor,
        epsilon: f32,
    ) -> FlexTensor {
        let rows = row_shape(x);
        let out = norm::forward(
            &values(x),
            &values(gamma),
            &values(shift),
            &values(scale),
            rows,
            epsilon,
        );
        tensor(out, shape_of(x))
    }

    pub fn linear(x: &FlexTensor, weight: &FlexTensor) -> FlexTensor {
        let [k, n] = weight_dims(weight);
        let x_values = values(x);
        let rows = x_values.len() / k;
        let w = values(weight);
        // SAFETY: x is [rows, k] and w [k, n], both row-major.
        let out = unsafe {
            product(
                (rows, n, k),
                MatrixRef::row_major(&x_values, k),
                MatrixRef::row_major(&w, n),
            )
        };
        let mut shape = shape_of(x);
        let last = shape.num_dims() - 1;
        shape[last] = n;
        tensor(out, shape)
    }

    pub fn depthwise_conv(x: &FlexTensor, taps: &FlexTensor) -> FlexTensor {
        let out = conv::forward(&values(x), &values(taps), row_shape(x));
        tensor(out, shape_of(x))
    }

    /// The output, and what the backward pass needs.
    pub fn attention(qkv: &FlexTensor, heads: usize) -> (FlexTensor, attention::Saved) {
        let rows = row_shape(qkv);
        let shape = AttentionShape {
            batch: rows.batch,
            len: rows.len,
            width: rows.width / 3,
            heads,
        };
        let (out, saved) = attention::forward(&values(qkv), shape);
        (
            tensor(out, Shape::new([shape.batch, shape.len, shape.width])),
            saved,
        )
    }

    pub fn bias_gelu(u: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
        let out = gelu::forward(&values(u), &values(bias), row_shape(u));
        tensor(out, shape_of(u))
    }

    pub fn gated_residual(
        x: &FlexTensor,
        y: &FlexTensor,
        bias: Option<&FlexTensor>,
        gate: &FlexTensor,
    ) -> FlexTensor {
        let rows = row_shape(x);
        let bias = match bias {
            Some(bias) => values(bias).into_owned(),
            None => vec![0f32; rows.width],
        };
        let out = residual::forward(&values(x), &values(y), &bias, &values(gate), rows);
        tensor(out, shape_of(x))
    }

    pub fn score_entropy(z: &FlexTensor, terms: &DseTerms) -> FlexTensor {
        let rows = row_shape(z);
        let out = score_entropy::forward(&values(z), terms, rows.batch, rows.len);
        tensor(out, Shape::new([rows.batch]))
    }
}

impl FusedBackend for Flex {
    fn fused_layer_norm_modulate(
        x: FlexTensor,
        gamma: FlexTensor,
        shift: FlexTensor,
        scale: FlexTensor,
        epsilon: f32,
    ) -> FlexTensor {
        flex_forward::layer_norm_modulate(&x, &gamma, &shift, &scale, epsilon)
    }

    fn fused_linear(x: FlexTensor, weight: FlexTensor) -> FlexTensor {
        flex_forward::linear(&x, &weight)
    }

    fn fused_depthwise_conv(x: FlexTensor, taps: FlexTensor) -> FlexTensor {
        flex_forward::depthwise_conv(&x, &taps)
    }

    fn fused_attention(qkv: FlexTensor, heads: usize) -> FlexTensor {
        flex_forward::attention(&qkv, heads).0
    }

    fn fused_bias_gelu(u: FlexTensor, bias: FlexTensor) -> FlexTensor {
        flex_forward::bias_gelu(&u, &bias)
    }

    fn fused_gated_residual(x: FlexTensor, y: FlexTensor, gate: FlexTensor) -> FlexTensor {
        flex_forward::gated_residual(&x, &y, None, &gate)
    }

    fn fused_gated_residual_bias(
        x: FlexTensor,
        y: FlexTensor,
        bias: FlexTensor,
        gate: FlexTensor,
    ) -> FlexTensor {
        flex_forward::gated_residual(&x, &y, Some(&bias), &gate)
    }

    fn fused_score_entropy(z: FlexTensor, terms: DseTerms) -> FlexTensor {
        flex_forward::score_entropy(&z, &terms)
    }
}

/// A backward step's parents, incoming gradient and saved state: what every [`Backward`]
/// below starts from (a macro because burn does not export the parents' type).
macro_rules! step_inputs {
    ($ops:expr, $grads:expr) => {{
        let ops = $ops;
        let grad = $grads.consume::<Flex>(&ops.node);
        (ops.parents, grad, ops.state)
    }};
}

/// Registers the gradient `values` of a parent node, if the parent is tracked (computing it
/// only then).
macro_rules! register {
    ($grads:expr, $parent:expr, $values:expr) => {
        if let Some(node) = $parent {
            $grads.register::<Flex>(node.id, $values);
        }
    };
}

#[derive(Debug)]
struct LayerNormModulateBackward;

impl Backward<Flex, 4> for LayerNormModulateBackward {
    /// x, gamma, scale, the shape of shift, epsilon.
    type State = (FlexTensor, FlexTensor, FlexTensor, Shape, f32);

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (
            [x_node, gamma_node, shift_node, scale_node],
            grad,
            (x, gamma, scale, shift_shape, epsilon),
        ) = step_inputs!(ops, grads);
        let g = norm::backward(
            &values(&x),
            &values(&gamma),
            &values(&scale),
            &values(&grad),
            row_shape(&x),
            epsilon,
        );
        register!(grads, x_node, tensor(g.x, shape_of(&x)));
        register!(grads, gamma_node, tensor(g.gamma, shape_of(&gamma)));
        register!(grads, shift_node, tensor(g.shift, shift_shape));
        register!(grads, scale_node, tensor(g.scale, shape_of(&scale)));
    }
}

#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 2> for LinearBackward {
    /// x, weight.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let ([x_node, weight_node], grad, (x, weight)) = step_inputs!(ops, grads);
        let [k, n] = weight_dims(&weight);
        let g = values(&grad);
        let rows = g.len() / n;
        let dy = MatrixRef::row_major(&g, n);
        // Each product (and the read of its other factor) only for a tracked parent.
        // dX = dY W^T. SAFETY: dY is [rows, n] and W [k, n], read as W^T [n, k].
        let dx =
            || unsafe { product((rows, k, n), dy, MatrixRef::transposed(&values(&weight), n)) };
        register!(grads, x_node, tensor(dx(), shape_of(&x)));
        // dW = X^T dY. SAFETY: X is [rows, k], read as X^T [k, rows], and dY [rows, n].
        let dw = || unsafe { product((k, n, rows), MatrixRef::transposed(&values(&x), k), dy) };
        register!(grads, weight_node, tensor(dw(), shape_of(&weight)));
    }
}

#[derive(Debug)]
struct DepthwiseConvBackward;

impl Backward<Flex, 2> for DepthwiseConvBackward {
    /// x, taps.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let ([x_node, taps_node], grad, (x, taps)) = step_inputs!(ops, grads);
        let (dx, d_taps) =
            conv::backward(&values(&x), &values(&taps), &values(&grad), row_shape(&x));
        register!(grads, x_node, tensor(dx, shape_of(&x)));
        register!(grads, taps_node, tensor(d_taps, shape_of(&taps)));
    }
}

#[derive(Debug)]
struct AttentionBackward;

impl Backward<Flex, 1> for AttentionBackward {
    /// qkv, the output, what the forward pass saved, heads.
    type State = (
        FlexTensor,
        FlexTensor,
        std::sync::Arc<attention::Saved>,
        usize,
    );

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let ([qkv_node], grad, (qkv, out, saved, heads)) = step_inputs!(ops, grads);
        let rows = row_shape(&qkv);
        let shape = AttentionShape {
            batch: rows.batch,
            len: rows.len,
            width: rows.width / 3,
            heads,
        };
        register!(grads, qkv_node, {
            let d_qkv =
                attention::backward(&values(&qkv), &values(&out), &saved, &values(&grad), shape);
            tensor(d_qkv, shape_of(&qkv))
        });
    }
}

#[derive(Debug)]
struct BiasGeluBackward;

impl Backward<Flex, 2> for BiasGeluBackward {
    /// u, bias.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let ([u_node, bias_node], grad, (u, bias)) = step_inputs!(ops, grads);
        let (du, d_bias) =
            gelu::backward(&values(&u), &values(&bias), &values(&grad), row_shape(&u));
        register!(grads, u_node, tensor(du, shape_of(&u)));
        register!(grads, bias_node, tensor(d_bias, shape_of(&bias)));
    }
}

/// `x + gate * y` (`N = 3`: x, y, gate) or `x + gate * (y + bias)` (`N = 4`: x, y, bias,
/// gate).
#[derive(Debug)]
struct GatedResidualBackward;

impl GatedResidualBackward {
    fn gradients(
        state: (FlexTensor, Option<FlexTensor>, FlexTensor),
        grad: &FlexTensor,
    ) -> (FlexTensor, FlexTensor, Option<FlexTensor>) {
        let (y, bias, gate) = state;
        let rows = row_shape(&y);
        let bias_values = match &bias {
            Some(bias) => values(bias).into_owned(),
            None => vec![0f32; rows.width],
        };
        let (dy, d_gate, d_bias) = residual::backward(
            &values(&y),
            &bias_values,
            &values(&gate),
            &values(grad),
            rows,
        );
        (
            tensor(dy, shape_of(&y)),
            tensor(d_gate, shape_of(&gate)),
            bias.map(|b| tensor(d_bias, shape_of(&b))),
        )
    }
}

type ResidualState = (FlexTensor, Option<FlexTensor>, FlexTensor);

impl Backward<Flex, 3> for GatedResidualBackward {
    type State = ResidualState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let ([x_node, y_node, gate_node], grad, state) = step_inputs!(ops, grads);
        let (dy, d_gate, _) = Self::gradients(state, &grad);
        register!(grads, y_node, dy);
        register!(grads, gate_node, d_gate);
        register!(grads, x_node, grad);
    }
}

impl Backward<Flex, 4> for GatedResidualBackward {
    type State = ResidualState;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let ([x_node, y_node, bias_node, gate_node], grad, state) = step_inputs!(ops, grads);
        let (dy, d_gate, d_bias) = Self::gradients(state, &grad);
        register!(grads, y_node, dy);
        register!(grads, gate_node, d_gate);
        if let Some(d_bias) = d_bias {
            register!(grads, bias_node, d_bias);
        }
        register!(grads, x_node, grad);
    }
}

#[derive(Debug)]
struct ScoreEntropyBackward;

impl Backward<Flex, 1> for ScoreEntropyBackward {
    type State = (FlexTensor, DseTerms);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let ([z_node], grad, (z, terms)) = step_inputs!(ops, grads);
        let rows = row_shape(&z);
        register!(grads, z_node, {
            let dz =
                score_entropy::backward(&values(&z), &terms, &values(&grad), rows.batch, rows.len);
            tensor(dz, shape_of(&z))
        });
    }
}

/// Puts a two-input operation's result `out` on the autodiff tape, with the two inputs as the
/// state its backward step reads (linear: x and W; bias + GELU: u and the bias; convolution:
/// x and the taps).
fn record_with_inputs<C, T>(
    op: T,
    a: FloatTensor<Autodiff<Flex, C>>,
    b: FloatTensor<Autodiff<Flex, C>>,
    out: FlexTensor,
) -> FloatTensor<Autodiff<Flex, C>>
where
    C: CheckpointStrategy,
    T: Backward<Flex, 2, State = (FlexTensor, FlexTensor)>,
{
    match op
        .prepare::<C>([a.node(), b.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((a.primitive().clone(), b.primitive().clone()), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

impl<C: CheckpointStrategy> FusedBackend for Autodiff<Flex, C> {
    fn fused_layer_norm_modulate(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        epsilon: f32,
    ) -> FloatTensor<Self> {
        let out = flex_forward::layer_norm_modulate(
            x.primitive(),
            gamma.primitive(),
            shift.primitive(),
            scale.primitive(),
            epsilon,
        );
        match LayerNormModulateBackward
            .prepare::<C>([x.node(), gamma.node(), shift.node(), scale.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(
                (
                    x.primitive().clone(),
                    gamma.primitive().clone(),
                    scale.primitive().clone(),
                    shape_of(shift.primitive()),
                    epsilon,
                ),
                out,
            ),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn fused_linear(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        let out = flex_forward::linear(x.primitive(), weight.primitive());
        record_with_inputs::<C, _>(LinearBackward, x, weight, out)
    }

    fn fused_depthwise_conv(x: FloatTensor<Self>, taps: FloatTensor<Self>) -> FloatTensor<Self> {
        let out = flex_forward::depthwise_conv(x.primitive(), taps.primitive());
        record_with_inputs::<C, _>(DepthwiseConvBackward, x, taps, out)
    }

    fn fused_attention(qkv: FloatTensor<Self>, heads: usize) -> FloatTensor<Self> {
        match AttentionBackward
            .prepare::<C>([qkv.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, saved) = flex_forward::attention(qkv.primitive(), heads);
                let state = (
                    qkv.primitive().clone(),
                    out.clone(),
                    std::sync::Arc::new(saved),
                    heads,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(flex_forward::attention(qkv.primitive(), heads).0)
            }
        }
    }

    fn fused_bias_gelu(u: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        let out = flex_forward::bias_gelu(u.primitive(), bias.primitive());
        record_with_inputs::<C, _>(BiasGeluBackward, u, bias, out)
    }

    fn fused_gated_residual(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        gate: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let out =
            flex_forward::gated_residual(x.primitive(), y.primitive(), None, gate.primitive());
        match <GatedResidualBackward as Backward<Flex, 3>>::prepare::<C>(
            GatedResidualBackward,
            [x.node(), y.node(), gate.node()],
        )
        .compute_bound()
        .stateful()
        {
            OpsKind::Tracked(prep) => {
                prep.finish((y.primitive().clone(), None, gate.primitive().clone()), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn fused_gated_residual_bias(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        gate: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let out = flex_forward::gated_residual(
            x.primitive(),
            y.primitive(),
            Some(bias.primitive()),
            gate.primitive(),
        );
        match <GatedResidualBackward as Backward<Flex, 4>>::prepare::<C>(
            GatedResidualBackward,
            [x.node(), y.node(), bias.node(), gate.node()],
        )
        .compute_bound()
        .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(
                (
                    y.primitive().clone(),
                    Some(bias.primitive().clone()),
                    gate.primitive().clone(),
                ),
                out,
            ),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn fused_score_entropy(z: FloatTensor<Self>, terms: DseTerms) -> FloatTensor<Self> {
        let out = flex_forward::score_entropy(z.primitive(), &terms);
        match ScoreEntropyBackward
            .prepare::<C>([z.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((z.primitive().clone(), terms), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[cfg(test)]
mod tests;
