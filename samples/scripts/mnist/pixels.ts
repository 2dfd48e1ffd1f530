/** An MNIST digit: 28×28 grey pixels, scored as 784 floats in [0, 1]. */
export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
