"""The anti-corruption layer: the only place that speaks the monolith's vocabulary.

Translators turn legacy rows and legacy JSON into the plain records services build their models from
(and back), ``LegacyClient`` calls the monolith over HTTP, and the sources read its tables read-only.
"""
