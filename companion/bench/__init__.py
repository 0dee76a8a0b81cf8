"""The benchmarks behind `cats-companion bench` and the harness code they share with the tests."""
