# whoami: returns the web server's authenticated user (REMOTE_USER), as cog-fcgi exposes it.
from cog import BasePredictor, Input, current_scope


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Echoed after the user name")) -> str:
        user = current_scope().context.get("remote_user")
        return f"{user}: {text}"
