"""Sistema de informação geográfica (the CIM's): GeoJSON layers served statically by nginx with
TLS (application/geo+json), starting with the seats of the CIM's municipalities."""

from deploys.services._web_service import WebService, deploy

SERVICE = WebService(
    role="gis",
    title="Sistema de informação geográfica intermunicipal",
    static="gis",
    links=(("/layers/sedes.geojson", "Sedes de concelho (GeoJSON)"),),
)

deploy(SERVICE)
