"""Weight initializers: a fresh draw for every weight, and GPT-2's residual scaling."""

import math

import keras


def clone_initializer(initializer):
    """A new initializer with `initializer`'s class and settings.

    Keras 3 fixes an unseeded initializer's seed when the object is created, so one
    object handed to several weights gives every one of them the same values (and
    weights of other shapes the same leading values). Every layer here therefore
    clones its initializer for each weight it creates; an unseeded clone draws a new
    seed, which `keras.utils.set_random_seed` makes reproducible. Strings and dicts
    are resolved first, so each call also returns a distinct object for them.
    """
    initializer = keras.initializers.get(initializer)
    if not isinstance(initializer, keras.initializers.Initializer):
        return initializer
    return initializer.__class__.from_config(initializer.get_config())


def transformer_initializers(num_layers, stddev=0.02, scale_residual=True,
                             residual_branches=2):
    """(kernel_initializer, residual_output_initializer) for a pre-LN Transformer stack.

    Every weight is drawn from N(0, stddev). With `scale_residual`, the matrices that
    write into the residual stream (attention output, second feed-forward matrix) are
    drawn with stddev / sqrt(residual_branches * num_layers), as GPT-2 (Radford et al.
    2019, section 2.3) and nanoGPT do, so the stream's variance does not grow with
    depth. `residual_branches` is the number of residual branches per block (2; 3 for
    a decoder block with cross-attention).
    """
    kernel = keras.initializers.RandomNormal(stddev=stddev)
    if not scale_residual:
        return kernel, kernel
    scaled = stddev / math.sqrt(residual_branches * max(int(num_layers), 1))
    return kernel, keras.initializers.RandomNormal(stddev=scaled)
