"""Training small GANs on your own pictures (and the digits zoo): data, discriminator, loop."""
