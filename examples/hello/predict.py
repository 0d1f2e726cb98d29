# The example predictor from the README: says hello, with a little setup.
import time

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self) -> None:
        print("setting up the greeter")
        self.greeting = "hello"

    def predict(
        self,
        text: str = Input(description="Who to greet", default="world"),
        excitement: int = Input(description="How many exclamation marks", default=0, ge=0, le=10),
    ) -> str:
        print(f"greeting {text}")
        return f"{self.greeting} {text}" + "!" * excitement
