"""The FastAPI scoring service and batch scoring with the signed-off champion."""
