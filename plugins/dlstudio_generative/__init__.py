"""dlstudio's generative family: neural style transfer and a DCGAN (the book's chapter 7)."""
