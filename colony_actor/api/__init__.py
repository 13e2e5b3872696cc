"""The Quart-Trio HTTP app: routes, auth, the error shape. No business logic here:
handlers validate input, send the runner a message or call a quick pod edit, and shape
the answer. This package must never change job state itself."""
