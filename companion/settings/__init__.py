"""Every setting of the companion: models, user file, team policy with locks, mapping, field catalogue.

Import what you need from its module. This package imports none of them, so that the rules can
read settings without loading the modules that touch files (tests/test_layers.py):

    pure         base, fields, variables, mapping, models, tree, catalogue, checks
    with files   storage (the user's file), policy (the team policy), effective (the merge of
                 both, on policy's model), catalogue_store (the catalogue cached from CATS),
                 service (SettingsService: all of them together)
"""
