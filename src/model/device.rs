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
            ComputeDevice::Cuda => Ok(Device::cuda(0)),
            #[cfg(not(feature = "cuda"))]
            ComputeDevice::Cuda => Err(Error::Options(
                "--device cuda: this seddbio was built without CUDA; rebuild with `cargo build --release --features cuda`".into(),
            )),
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
