"""The ideas behind the main training settings, a few sentences each, offline: what a form's "?" opens
(Orange's built-in help is the model). Text only — no Qt — so any front end or document can use it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Concept:
    title: str
    #: One sentence: the field's tooltip when it has no help of its own.
    summary: str
    #: The explanation: what it is, what it does to training, how to choose it.
    text: str


CONCEPTS: dict[str, Concept] = {
    "learning_rate": Concept(
        "Learning rate", "How big a step the optimiser takes against the gradient.",
        "Each step moves every weight a little against its gradient; the learning rate says how far. Too high and "
        "the loss jumps around or grows (diverges); too low and it falls very slowly or stalls. Typical values are "
        "0.1–0.01 for SGD and 0.001 for Adam. The learning-rate finder sweeps it on a fresh model and suggests "
        "where the loss falls fastest; schedulers lower it during the run."),
    "weight_decay": Concept(
        "Weight decay", "A pull of every weight towards zero at each step (L2 regularisation).",
        "Weight decay shrinks each weight a little at every step, so the network only keeps large weights where "
        "they really lower the loss. This discourages memorising the training images (overfitting). Typical "
        "values are 1e-4 to 5e-4 for SGD and about 0.01 for AdamW; 0 turns it off. AdamW applies it separately "
        "from the gradient step, which usually works better with adaptive optimisers."),
    "momentum": Concept(
        "Momentum", "How much of the previous step carries into the next (SGD).",
        "With momentum, SGD keeps a running direction: each step is the new gradient plus a share (0.9 is usual) "
        "of the previous step. Steps that agree add up and noise cancels out, so training moves faster along "
        "long shallow valleys and jitters less. Nesterov momentum looks one step ahead before adding the "
        "gradient. Adam and AdamW have their own momentum built in, so the field applies to SGD only."),
    "optimizer": Concept(
        "Optimiser", "The rule that turns gradients into weight updates.",
        "SGD moves each weight by the learning rate times its gradient (with momentum); it is simple and, tuned "
        "well, generalises very well. Adam scales each weight's step by how large its gradients have been, "
        "so it needs less tuning and is a good first choice; AdamW is Adam with proper weight decay. L-BFGS "
        "takes quasi-Newton steps and suits problems that re-evaluate the whole loss, such as style transfer."),
    "scheduler": Concept(
        "Learning-rate schedule", "How the learning rate changes during the run.",
        "A large rate early on makes fast progress; a smaller one later settles into a good minimum. Step lowers "
        "the rate by gamma every few epochs; multistep at the epochs you list; exponential a little every epoch; "
        "plateau when the monitored metric stops improving; cosine glides it down to zero; one-cycle first warms "
        "it up and then anneals it, which often trains fastest. 'none' keeps it constant."),
    "freezing": Concept(
        "Freezing layers", "Layers whose weights are kept as they are while the rest trains.",
        "A pretrained network's early layers detect edges, colours and textures that suit almost any images; "
        "its later layers are specific to what it was trained on. Freezing keeps some layers fixed: 'backbone' "
        "trains only the new classifier (fast, good for few images); 'freeze up to layer3' keeps the stem and "
        "layer1–layer3 fixed and fine-tunes layer4 and the classifier, adapting the most specific features to "
        "your data. Frozen layers need no gradients, so training is faster and uses less memory."),
    "pretrained": Concept(
        "Pretrained weights (transfer learning)", "Start from a network already trained on ImageNet.",
        "A network trained on ImageNet's 1.2 million photos has learnt features that transfer to other images. "
        "Starting from those weights and training on your data (transfer learning) reaches good accuracy with "
        "far fewer images and epochs than starting from random weights. The weights file must be on this "
        "machine (torch's hub cache): it is downloaded on first use when online."),
    "augmentation": Concept(
        "Augmentation", "Random changes to training images, a new variant every epoch.",
        "Flipping, rotating, recolouring or cropping each training image at random shows the network many "
        "variants of the same picture, so it learns what matters (the shape of a cat) rather than incidental "
        "details (where it sits in the frame). It fights overfitting, especially with few images. Validation "
        "images are never augmented. Choose changes that keep the label true: no flips for text or arrows. "
        "The Data page previews exactly the variants that will train."),
    "batch_size": Concept(
        "Batch size", "How many samples each optimisation step averages over.",
        "Each step computes the loss on a batch of samples and averages their gradients. Larger batches give "
        "smoother gradients and use the hardware better, but need more memory and often a larger learning "
        "rate; smaller batches are noisier, which can help generalisation. 32–128 is usual for images; lower it "
        "if the device runs out of memory."),
    "epochs": Concept(
        "Epochs", "Passes over the whole training set.",
        "One epoch shows every training sample once. More epochs let the model learn more, until the "
        "validation metric stops improving and it starts memorising the training data (overfitting). Watch "
        "the validation curve; early stopping and keeping the best weights guard against training too long."),
    "early_stopping": Concept(
        "Early stopping", "Stop when the monitored metric has not improved for a while.",
        "Training longer than useful only overfits. With a patience of N, the run stops after N epochs without "
        "improvement of the monitored metric (validation accuracy or loss), and 'keep the best weights' "
        "restores the epoch that was best. It saves time and picks the model that generalises best."),
    "mixed_precision": Concept(
        "Mixed precision (AMP)", "Compute in 16-bit floats where it is safe.",
        "Recent GPUs compute 16-bit floating point much faster than 32-bit and it halves activation memory. "
        "Automatic mixed precision runs the layers that tolerate it in 16 bits and keeps the rest, and the "
        "weights, in 32 bits, scaling the loss so small gradients do not vanish. Accuracy is usually the "
        "same. It needs CUDA; on a CPU it is off."),
    "dropout": Concept(
        "Dropout", "The share of a layer's outputs switched off at random while training.",
        "Dropout zeroes a random share of activations at each training step, so the network cannot rely on any "
        "single feature and learns redundant ones: a strong guard against overfitting. It is off at "
        "evaluation. 0.5 is classic for large fully-connected layers; 0.1–0.3 for smaller ones; 0 turns it off."),
    "validation": Concept(
        "Validation split", "Images held out from training to measure how well the model generalises.",
        "A model is judged on images it never trained on. When a folder has no valid/ split, a share of each "
        "class (stratified, seeded, so every run holds out the same images) is set aside. The validation "
        "accuracy is the number to trust; training accuracy only shows how well it memorised."),
    "normalisation": Concept(
        "Normalisation", "Shifting and scaling pixel values to a standard range.",
        "Networks train best when inputs are centred near 0 with a spread near 1. 'computed' uses the mean and "
        "standard deviation of your training images; a pretrained network wants the statistics it was trained "
        "with ('imagenet')."),
    "gradient_clipping": Concept(
        "Gradient clipping", "A cap on the size of each step's gradient.",
        "An unusual batch can produce a huge gradient that throws the weights far off. Clipping rescales the "
        "gradients whenever their total norm exceeds the cap, keeping steps bounded. Common for recurrent "
        "networks; 1.0–5.0 are usual caps, 0 turns it off."),
    "kfold": Concept(
        "k-fold cross-validation", "k runs, each holding out a different fifth (say) of the data.",
        "One validation split can be lucky or unlucky, especially with few images. k-fold cross-validation "
        "splits the data into k parts (folds, stratified by class), trains k models each holding out another "
        "fold, and reports each held-out accuracy and their mean and spread: a much more reliable estimate of "
        "how the settings generalise. It costs k runs."),
    "ensembles": Concept(
        "Ensembles", "Several models' predictions combined into one.",
        "Different networks make different mistakes. An ensemble combines them (here: each backbone's features "
        "through its own layer, summed, then a classifier), and is usually more accurate than any of its "
        "members. 'Compare backbones' trains a head on each backbone alone and the ensemble on all, so you see "
        "what combining them gains for its extra cost."),
}

#: The concept a parameter key explains (any form with a field of that key offers its "?").
CONCEPT_OF_KEY: dict[str, str] = {
    "lr": "learning_rate", "weight_decay": "weight_decay", "momentum": "momentum", "nesterov": "momentum",
    "optimizer": "optimizer", "scheduler": "scheduler", "step_size": "scheduler", "gamma": "scheduler",
    "milestones": "scheduler", "plateau_patience": "scheduler", "freeze": "freezing", "weights": "pretrained",
    "hflip": "augmentation", "vflip": "augmentation", "rotation": "augmentation", "color_jitter": "augmentation",
    "random_resized_crop": "augmentation", "batch_size": "batch_size", "epochs": "epochs", "steps": "epochs",
    "early_stopping": "early_stopping", "keep_best": "early_stopping", "amp": "mixed_precision",
    "dropout": "dropout", "holdout": "validation", "normalize": "normalisation", "grad_clip": "gradient_clipping",
    "folds": "kfold", "fold": "kfold", "backbones": "ensembles",
}


def concept_for(key: str) -> Concept | None:
    """The idea behind parameter ``key``, or None."""
    name = CONCEPT_OF_KEY.get(key)
    return CONCEPTS[name] if name else None
