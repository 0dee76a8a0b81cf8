"""A faithful double of the CATS REST API v3: data store, resource routes and the harness around them."""
