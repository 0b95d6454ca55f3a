# packaging/spack/package.py - Spack recipe for hutch.
#
# hutch has no published release URL yet, so the recipe builds a checkout
# or an unpacked `make dist` tarball in place:
#   spack repo create ~/spack-hutch && mkdir -p ~/spack-hutch/packages/hutch
#   cp packaging/spack/package.py ~/spack-hutch/packages/hutch/
#   spack repo add ~/spack-hutch
#   cd /path/to/hutch && spack dev-build hutch@=0.1.0
# Once releases are published, add `url` and each version's sha256 here.

from spack.package import *


class Hutch(MakefilePackage):
    """Docker's workflow (build from a Dockerfile, run -d -p, ps, logs,
    exec, bind-mounted data) without root and without a daemon, for HPC
    login and compute nodes: hutch, its FUSE overlay filesystem
    hutch-overlay and its user-mode network helper hutch-net."""

    license("Apache-2.0")

    version("0.1.0")

    depends_on("c", type="build")
    depends_on("gmake", type="build")
    depends_on("pkgconfig", type="build")

    # Linked: hutch, hutch-overlay, hutch-net.
    depends_on("libseccomp")
    depends_on("libcap")
    depends_on("jansson")
    depends_on("libyaml")
    depends_on("libfuse@3:")
    depends_on("libnl")
    depends_on("libslirp")
    depends_on("glib")
    # Loaded with dlopen() when a command needs them (image/lazylib.c).
    # As link dependencies their lib directories go into hutch's run path
    # (Spack's compiler wrapper), where dlopen() finds them by soname.
    depends_on("curl")
    depends_on("libarchive")
    depends_on("openssl@3:")

    conflicts("platform=darwin", msg="hutch needs Linux user namespaces")

    @property
    def build_targets(self):
        return ["all"]

    def install(self, spec, prefix):
        make("install", f"PREFIX={prefix}")
