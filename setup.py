"""Packaging for rxpusher: a ReactiveX client for Pusher Channels (protocol 7)."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
about: dict[str, str] = {}
exec((HERE / "rxpusher" / "_version.py").read_text(), about)

setup(
    name="rxpusher",
    version=about["__version__"],
    description="Pusher Channels client where the connection, channels and events are ReactiveX Observables",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(include=["rxpusher", "rxpusher.*"]),
    package_data={"rxpusher": ["py.typed"]},
    install_requires=[
        "reactivex~=6.1",
        "websocket-client>=1.9.2",
        "requests",
    ],
    extras_require={
        "encryption": ["pynacl>=1.5"],
        "server": ["websockets>=13"],
        "socks": ["python-socks>=2.4", "pysocks>=1.7"],
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            "pusher>=3.3",
            "pysher==1.0.8",
            "pynacl>=1.5",
            "websockets>=13",
            "nbclient>=0.10",
            "nbformat>=5.10",
            "ipykernel>=6.29",
            "matplotlib>=3.8",
            "pandas>=2.1",
            "pdoc>=16,<17",
            "flask>=3.0",
            "mypy>=1.10",
        ],
    },
    entry_points={
        "console_scripts": ["rxpusher = rxpusher.cli:main"],
        "pytest11": ["rxpusher_server = rxpusher.server.pytest_plugin"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Topic :: Internet :: WWW/HTTP",
        "Typing :: Typed",
    ],
)
