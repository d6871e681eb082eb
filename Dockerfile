# lossviz in a container (CPU): one app process per container. NOT TESTED: this machine
# has no Docker engine and cannot pull base images (see the README, "Beyond one machine").
# Build and run:  docker build -t lossviz . && docker run -p 8501:8501 lossviz
# Several containers behind a load balancer need sticky sessions (cookie affinity) and
# one shared cookie secret:  docker run -e STREAMLIT_SERVER_COOKIE_SECRET=<same everywhere> ...
FROM python:3.11-slim

WORKDIR /app
# torch's CPU build from PyTorch's own index (PyPI's default torch is the CUDA build).
COPY requirements.txt .
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install --no-cache-dir -r requirements.txt

COPY app.py pyproject.toml README.md LICENSE ./
COPY lossviz ./lossviz
# Editable, as `make run` does: Streamlit serves the components' JS from lossviz/ui/components/assets.
RUN pip install --no-cache-dir --no-deps -e .
COPY pages ./pages
COPY deploy ./deploy
COPY examples ./examples
COPY .streamlit ./.streamlit

RUN useradd --create-home lossviz && mkdir /data && chown lossviz /data
USER lossviz
# Class-quiz rooms: one SQLite file; mount a volume at /data to keep rooms across restarts
# (containers behind one load balancer must share it, or pin a class to one container).
ENV LOSSVIZ_ROOMS_DB=/data/rooms.sqlite3
VOLUME /data
EXPOSE 8501
# deploy/serve.py: the same start as `make run` (allocator setting, config.toml), on every
# interface inside the container.
CMD ["python", "-m", "deploy.serve", "--host", "0.0.0.0", "--port", "8501"]
