import tensorflow as tf


class DCGAN(object):
    def __init__(self, z):
        self.z = z
        self.build()

    def build(self):
        self.sampler = self.sampler(self.z)
        self.a = self.b(self.z)
        self.b = self.a(self.z)

    def sampler(self, z):
        return tf.layers.dense(z, 3)
