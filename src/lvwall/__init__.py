"""lvwall: segment, explain and analyse the left-ventricle wall in A4C echocardiography."""

__version__ = "0.1.0"
