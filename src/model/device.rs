//! Where the network runs: `--device cpu|cuda`.

use burn::tensor::Device;

use crate::{Error, Result};

/// A compute device a user can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ComputeDevice {
    /// burn's `flex` CPU backend (SIMD kernels, rayon threads).
    #[default]
    Cpu,
    /// The first CUDA GPU (builds with `--features cuda`).
    Cuda,
}

crate::choices::named_choices!(ComputeDevice, "device", {
    Cpu => "cpu",
    Cuda => "cuda",
});

impl ComputeDevice {
    /// The burn device, or why this build cannot provide it.
    ///
    /// ```
    /// use seddbio::model::ComputeDevice;
    ///
    /// assert!(ComputeDevice::Cpu.device().is_ok());
    /// ```
    pub fn device(self) -> Result<Device> {
        match self {
            ComputeDevice::Cpu => Ok(Device::flex()),
            #[cfg(feature = "cuda")]
            ComputeDevice::Cuda => probe(Device::cuda(0)),
            #[cfg(not(feature = "cuda"))]
            ComputeDevice::Cuda => Err(Error::Setting {
                setting: crate::Setting::Device,
                message: "CUDA: this seddbio was built without CUDA; rebuild with `cargo build --release --features cuda`".into(),
            }),
        }
    }
}

/// `device` if a one-element round trip through it works. burn's GPU runtimes panic when no
/// device or driver is there (on first use, deep inside the runtime); this turns that into an
/// error line, with the runtime's own message, instead of a panic trace.
#[cfg(feature = "cuda")]
fn probe(device: Device) -> Result<Device> {
    use burn::tensor::Tensor;

    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| {
        Tensor::<1>::from_floats([1.0], &device)
            .into_data()
            .try_to_vec::<f32>()
            .ok()
    });
    std::panic::set_hook(hook);
    match outcome {
        Ok(Some(values)) if values == [1.0] => Ok(device),
        Ok(_) => Err(Error::Setting {
            setting: crate::Setting::Device,
            message: "CUDA: the GPU returned wrong data for a one-element test".into(),
        }),
        Err(payload) => {
            let reason = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("unknown failure");
            Err(Error::Setting {
                setting: crate::Setting::Device,
                message: format!(
                    "CUDA: no usable CUDA device ({}); check `nvidia-smi`",
                    reason.lines().next().unwrap_or(reason)
                ),
            })
        }
    }
}

#[cfg(not(feature = "cuda"))]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_without_the_feature_says_how_to_get_it() {
        let error = ComputeDevice::Cuda.device().unwrap_err().to_string();
        assert!(error.contains("--features cuda"), "{error}");
    }
}
