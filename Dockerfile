# lossviz in a container (CPU). NOT TESTED: this machine cannot pull base images.
# Build and run:  docker build -t lossviz . && docker run -p 8501:8501 lossviz
FROM python:3.11-slim

WORKDIR /app
# torch's CPU build from PyTorch's own index (PyPI's default torch is the CUDA build).
COPY requirements.txt .
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install --no-cache-dir -r requirements.txt

COPY app.py ./
COPY lossviz ./lossviz
COPY pages ./pages
COPY examples ./examples
COPY .streamlit ./.streamlit

RUN useradd --create-home lossviz
USER lossviz
# Large freed tensors go back to the system at once (see the Makefile's run target).
ENV MALLOC_MMAP_THRESHOLD_=1048576
EXPOSE 8501
# Listen on every interface inside the container; config.toml supplies the rest.
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
