"""One construct per capability of the pipeline; `Gt2YoloStack` composes them."""
