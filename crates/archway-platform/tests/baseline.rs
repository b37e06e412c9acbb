//! The baseline refusal as a user reads it: raspberryPi (ARMv6KZ + VFPv2) with Debian's armhf
//! packages (ARMv7-A + VFPv3-D16 + Thumb-2), and the same check passing for the platforms
//! Debian's architectures are built for.

use archway_platform::baseline::{baseline_conflict, DEBIAN_BASELINES};
use archway_platform::Platform;

fn refusal(platform: &str, architecture: &str) -> String {
    let platform = Platform::parse(platform).expect("a catalog name");
    let conflict = baseline_conflict(&platform, architecture).expect("a conflict");
    format!(
        "error: {conflict}\nhint: {}\n",
        conflict.hint().expect("a hint")
    )
}

#[test]
fn raspberry_pi_with_debian_armhf_is_refused() {
    insta::assert_snapshot!(refusal("raspberryPi", "armhf"));
}

#[test]
fn i486_with_debian_i386_is_refused() {
    insta::assert_snapshot!(refusal("i486-linux", "i386"));
}

#[test]
fn each_baseline_platform_uses_its_debian_architecture_without_refusal() {
    for baseline in DEBIAN_BASELINES {
        let platform = Platform::parse(baseline.platform).expect(baseline.platform);
        let architecture = platform.debian_arch().expect("a Debian architecture");
        assert_eq!(
            baseline_conflict(&platform, architecture),
            None,
            "{}",
            baseline.platform
        );
    }
}
