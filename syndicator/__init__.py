"""syndicator: announce a news site's new articles on its social channels, exactly once each."""

__version__ = "0.1.0"
