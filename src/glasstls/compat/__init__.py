"""An ssl-module-compatible layer over glasstls (issue 13): SSLContext, SSLObject, SSLSocket."""
