"""All layers of ``oxmlx.nn``."""

from oxmlx.nn.layers.activations import (  # noqa: F401
    CELU, ELU, GELU, GLU, SELU, HardShrink, Hardswish, HardTanh, LeakyReLU, LogSigmoid,
    LogSoftmax, Mish, PReLU, ReLU, ReLU2, ReLU6, Sigmoid, SiLU, Softmax, Softmin, Softplus,
    Softshrink, Softsign, Step, Tanh,
    celu, elu, gelu, gelu_approx, gelu_fast_approx, glu, hard_shrink, hard_tanh, hardswish,
    leaky_relu, log_sigmoid, log_softmax, mish, prelu, relu, relu2, relu6, selu, sigmoid, silu,
    softmax, softmin, softplus, softshrink, softsign, step, tanh,
)
from oxmlx.nn.layers.base import Module  # noqa: F401
from oxmlx.nn.layers.containers import Sequential  # noqa: F401
from oxmlx.nn.layers.convolution import Conv1d, Conv2d, Conv3d  # noqa: F401
from oxmlx.nn.layers.convolution import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d  # noqa: F401
from oxmlx.nn.layers.dropout import Dropout, Dropout2d, Dropout3d  # noqa: F401
from oxmlx.nn.layers.embedding import Embedding  # noqa: F401
from oxmlx.nn.layers.linear import Bilinear, Identity, Linear  # noqa: F401
from oxmlx.nn.layers.normalization import BatchNorm, GroupNorm, InstanceNorm, LayerNorm, RMSNorm  # noqa: F401
from oxmlx.nn.layers.pooling import AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d  # noqa: F401
from oxmlx.nn.layers.positional_encoding import ALiBi, RoPE, SinusoidalPositionalEncoding  # noqa: F401
from oxmlx.nn.layers.quantized import QuantizedEmbedding, QuantizedLinear, quantize  # noqa: F401
from oxmlx.nn.layers.recurrent import GRU, LSTM, RNN  # noqa: F401
from oxmlx.nn.layers.transformer import (  # noqa: F401
    MultiHeadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,
    TransformerEncoder, TransformerEncoderLayer,
)
from oxmlx.nn.layers.upsample import Upsample, upsample_cubic, upsample_linear, upsample_nearest  # noqa: F401
