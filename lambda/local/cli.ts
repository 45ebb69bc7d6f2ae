// placeholder until the local server lands
