"""partilha: infrastructure as code for an intermunicipal shared data centre."""

__version__ = "0.1.0"
