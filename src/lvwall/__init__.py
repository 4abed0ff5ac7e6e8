"""lvwall: segment, explain and analyse the LV wall in apical 4- and 2-chamber echocardiography."""

__version__ = "0.1.0"
