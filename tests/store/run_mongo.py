"""Runs the store contract program against store_mongo.

    /usr/bin/python3 tests/store/run_mongo.py STORE_CONTRACT ARGS...

With PARLEY_TEST_MONGO_URI set (a real MongoDB: a replica set, Atlas) the
program runs against it; otherwise the Mongo-wire test server of
tests/mongo/congo.py is started in memory mode on a free port and the
program runs with PARLEY_TEST_MONGO_URI naming it. Exits 77 (CTest's
skip) with the reason when neither is there, else with the program's
status.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MONGO_TESTS = os.path.join(os.path.dirname(HERE), "mongo")

SKIP = 77


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    sys.path.insert(0, MONGO_TESTS)
    try:
        import congo
    except ImportError as e:
        print(f"skipped: no Mongo-wire test server ({MONGO_TESTS}/congo.py: {e})")
        return SKIP
    if not os.environ.get("PARLEY_TEST_MONGO_URI") and not congo.available():
        print("skipped: CongoDB is not installed (tools/setup.sh --test installs it) "
              "and PARLEY_TEST_MONGO_URI is unset")
        return SKIP
    sys.stdout.flush()
    return congo.main(["--", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
