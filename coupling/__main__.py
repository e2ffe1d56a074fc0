"""``mpirun -n M python -m ocean run CONFIG : -n N python -m coupling serve CONFIG``.

The MPMD form: the ranks of the second program become the ML group. This shim is the only
place where ``coupling`` reaches the ocean package (to share its command line); the ranks
of both programs split COMM_WORLD by their MPI application number.
"""
import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] != "serve":
        print("usage: python -m coupling serve CONFIG [--set SECTION.KEY=VALUE ...]", file=sys.stderr)
        return 2
    from ocean.cli import main as ocean_main
    return ocean_main(["run", argv[1], "--no-progress", *argv[2:]])


if __name__ == "__main__":
    sys.exit(main())
