//! Whole-model operations on parameters that burn leaves to the caller: the global gradient
//! norm and its clipping, the exponential moving average of the weights, and a flat copy of
//! every parameter (for comparing two models).

use std::collections::HashMap;

use burn::{
    module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId},
    optim::GradientsParams,
    tensor::Tensor,
};

/// Sum of squares of every gradient, as one scalar tensor (no device sync per parameter).
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let squares = grad.powi_scalar(2).sum();
            self.total = Some(match self.total.take() {
                Some(total) => total + squares,
                None => squares,
            });
        }
    }
}

struct ScaleGrads<'a> {
    grads: &'a mut GradientsParams,
    scale: f64,
}

impl ModuleVisitor for ScaleGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, grad * self.scale);
        }
    }
}

/// Scales the gradients so their global L2 norm is at most `max_norm` (as
/// `torch.nn.utils.clip_grad_norm_`, which the reference uses; burn's own clipping is per
/// tensor). Returns the norm before clipping. `max_norm = 0` only measures.
pub fn clip_global_norm<M: Module>(model: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let mut visitor = SquaredNorm { grads, total: None };
    model.visit(&mut visitor);
    let norm = visitor
        .total
        .map(|t| f64::from(t.into_scalar::<f32>()).sqrt())
        .unwrap_or(0.0);
    if max_norm > 0.0 && norm > max_norm {
        let mut scale = ScaleGrads {
            grads,
            scale: max_norm / (norm + 1e-6),
        };
        model.visit(&mut scale);
    }
    norm
}

/// Every parameter of a module, flattened, by id.
struct Collect {
    values: HashMap<ParamId, Tensor<1>>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        self.values.insert(param.id, value.inner().reshape([n]));
    }
}

struct Average {
    current: HashMap<ParamId, Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Average {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        match self.current.remove(&param.id) {
            Some(current) => param.map(|ema| {
                let dims = ema.dims();
                ema * self.decay + current.reshape(dims) * (1.0 - self.decay)
            }),
            None => param,
        }
    }
}

/// `ema <- decay * ema + (1 - decay) * model`, parameter by parameter (matched by id, so
/// `ema` must be a copy of `model`, e.g. `model.valid()`).
pub fn update_ema<M: Module>(ema: M, model: &M, decay: f64) -> M {
    let mut collect = Collect {
        values: HashMap::new(),
    };
    model.visit(&mut collect);
    ema.map(&mut Average {
        current: collect.values,
        decay,
    })
}

/// Every float parameter in visiting order, flattened into one vector.
pub fn flat_parameters<M: Module>(model: &M) -> Vec<f32> {
    struct Flatten(Vec<f32>);
    impl ModuleVisitor for Flatten {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            self.0.extend(values);
        }
    }
    let mut flatten = Flatten(Vec::new());
    model.visit(&mut flatten);
    flatten.0
}
