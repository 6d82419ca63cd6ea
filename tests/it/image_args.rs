//! Snapshots of every builder's argument lists (build, login, push) for both platforms: what
//! replatform runs, as a person would type it. The password is never among them.

use std::collections::BTreeMap;

use replatform::core::config::{Builder, Platform};
use replatform::core::image::{build, login, push, with_auth_dir, BuildSpec};

#[test]
fn every_builders_commands() {
    let build_args: BTreeMap<String, String> = [(
        "PIP_INDEX_URL".to_string(),
        "https://pypi.internal/simple".to_string(),
    )]
    .into();
    let mut out = String::new();
    for builder in [
        Builder::Docker,
        Builder::Podman,
        Builder::Buildah,
        Builder::Finch,
    ] {
        for platform in [Platform::Amd64, Platform::Arm64] {
            let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-worker:src-0123456789abcdef0123456789abcdef";
            let spec = BuildSpec {
                context: "/work/orders",
                dockerfile: "/work/orders/Dockerfile",
                image,
                platform,
                build_args: &build_args,
            };
            out.push_str(&format!("# {builder:?} {}\n", platform.as_str()));
            out.push_str(&format!(
                "build:  {}\n",
                build(builder, &spec, false).display()
            ));
            if builder == Builder::Docker {
                out.push_str(&format!(
                    "buildx: {}\n",
                    build(builder, &spec, true).display()
                ));
            }
        }
        let host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        let image = format!("{host}/orders-worker:src-0123456789abcdef0123456789abcdef");
        for (label, host, image, plain) in [
            ("", host, image.as_str(), false),
            (
                " (plain HTTP)",
                "127.0.0.1:5000",
                "127.0.0.1:5000/orders-worker:src-0123456789abcdef0123456789abcdef",
                true,
            ),
        ] {
            let l = with_auth_dir(
                login(builder, host, "AWS", plain),
                builder,
                "/tmp/replatform-auth-x",
            );
            let p = with_auth_dir(
                push(builder, image, plain),
                builder,
                "/tmp/replatform-auth-x",
            );
            let env = |c: &replatform::core::image::Command| {
                c.env
                    .iter()
                    .map(|(k, v)| format!("{k}={v} "))
                    .collect::<String>()
            };
            out.push_str(&format!("login{label}: {}{}\n", env(&l), l.display()));
            out.push_str(&format!("push{label}:  {}{}\n", env(&p), p.display()));
        }
        out.push('\n');
    }
    insta::assert_snapshot!(out);
}
