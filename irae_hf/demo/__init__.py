"""The Gradio demo's parts as a library: loading and describing models, checking what clients send, downloads,
serving many clients, the inpainting tools and the event handlers; ``app.py`` lays out the page from them."""
