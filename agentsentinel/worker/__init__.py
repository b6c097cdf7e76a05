"""Background services run by ``sentinel worker`` (production) or inside ``sentinel serve``."""
