//! Where the network runs: `--device cpu|cuda|wgpu`.

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
    /// The GPU that wgpu prefers, through Vulkan, Metal or DirectX 12 (builds with
    /// `--features wgpu`; `CUBECL_WGPU_DEFAULT_DEVICE` picks another adapter).
    Wgpu,
}

crate::choices::named_choices!(ComputeDevice, "device", {
    Cpu => "cpu",
    Cuda => "cuda",
    Wgpu => "wgpu",
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
            ComputeDevice::Cuda => probe(Device::cuda(0), "CUDA", "check `nvidia-smi`"),
            #[cfg(not(feature = "cuda"))]
            ComputeDevice::Cuda => Err(not_built("CUDA", "cuda")),
            #[cfg(feature = "wgpu")]
            ComputeDevice::Wgpu => probe(
                Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
                "wgpu",
                "check `vulkaninfo --summary`; on Linux without a GPU, install Mesa's lavapipe (mesa-vulkan-drivers)",
            ),
            #[cfg(not(feature = "wgpu"))]
            ComputeDevice::Wgpu => Err(not_built("wgpu", "wgpu")),
        }
    }
}

/// The error for a device whose backend this build left out.
#[cfg(not(all(feature = "cuda", feature = "wgpu")))]
fn not_built(what: &str, feature: &str) -> Error {
    Error::Setting {
        setting: crate::Setting::Device,
        message: format!(
            "{what}: this seddbio was built without {what}; rebuild with `cargo build --release --features {feature}`"
        ),
    }
}

/// `device` if a one-element round trip through it works. burn's GPU runtimes panic when no
/// device or driver is there (on first use, deep inside the runtime); this turns that into an
/// error line, with the runtime's own message, instead of a panic trace.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn probe(device: Device, what: &str, hint: &str) -> Result<Device> {
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
            message: format!("{what}: the GPU returned wrong data for a one-element test"),
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
                    "{what}: no usable {what} device ({}); {hint}",
                    reason.lines().next().unwrap_or(reason)
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_get_it() {
        let error = ComputeDevice::Cuda.device().unwrap_err().to_string();
        assert!(error.contains("--features cuda"), "{error}");
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn wgpu_without_the_feature_says_how_to_get_it() {
        let error = ComputeDevice::Wgpu.device().unwrap_err().to_string();
        assert!(error.contains("--features wgpu"), "{error}");
    }
}
